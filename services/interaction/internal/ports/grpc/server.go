// Package grpc serves the InteractionService API: it converts requests to
// app commands, app results to responses, and domain errors to gRPC
// statuses.
package grpc

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// IdempotencyKeyHeader is the metadata key that stands in for request_id
// when the request leaves it empty; the REST edge forwards the
// Idempotency-Key HTTP header under it.
const IdempotencyKeyHeader = "idempotency-key"

// Server implements interactionv1.InteractionServiceServer.
type Server struct {
	interactionv1.UnimplementedInteractionServiceServer
	// The areas of the use cases the RPCs call.
	timeline     *app.Timeline
	ingestion    *app.Ingestion
	cases        *app.Cases
	caseSettings *app.CaseSettings
	followups    *app.Followups
	surveys      *app.Surveys
	scope        *auth.CustomerScope
}

// NewServer returns a Server running the use cases of svc. scope, when not
// nil, holds agents and managers to their teams' cases in changes made by
// a case's id (requests naming a customer it checks by itself).
func NewServer(svc *app.Service, scope *auth.CustomerScope) *Server {
	return &Server{
		timeline:     svc.Timeline,
		ingestion:    svc.Ingestion,
		cases:        svc.Cases,
		caseSettings: svc.CaseSettings,
		followups:    svc.Followups,
		surveys:      svc.Surveys,
		scope:        scope,
	}
}

// RecordInteraction records one interaction, once.
func (s *Server) RecordInteraction(ctx context.Context, req *interactionv1.RecordInteractionRequest) (*interactionv1.RecordInteractionResponse, error) {
	if req.GetInteraction() == nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "interaction", Description: "is required"})
	}
	in, violations := toDomainInteraction(req.GetInteraction())
	if len(violations) > 0 {
		return nil, toStatus(violations.Nest("interaction").Err())
	}
	requestID := req.GetRequestId()
	if requestID == "" {
		requestID = idempotencyKey(ctx)
	}
	out, err := s.timeline.RecordInteraction(ctx, app.RecordInteraction{Interaction: in, RequestID: requestID})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.RecordInteractionResponse{Interaction: protoconv.ToProtoInteraction(out)}, nil
}

// ListInteractions returns a page of a customer's timeline, newest first.
func (s *Server) ListInteractions(ctx context.Context, req *interactionv1.ListInteractionsRequest) (*interactionv1.ListInteractionsResponse, error) {
	after, err := decodePageToken(req)
	if err != nil {
		return nil, err
	}
	page, err := s.timeline.ListInteractions(ctx, app.ListInteractions{
		CustomerID: req.GetCustomerId(),
		Filter:     req.GetFilter(),
		PageSize:   int(req.GetPageSize()),
		After:      after,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListInteractionsResponse{
		Interactions: make([]*interactionv1.Interaction, len(page.Interactions)),
	}
	for i, in := range page.Interactions {
		resp.Interactions[i] = protoconv.ToProtoInteraction(in)
	}
	for _, c := range page.OpenCases {
		resp.OpenCases = append(resp.OpenCases, protoconv.ToProtoCase(c))
	}
	for _, f := range page.PendingFollowups {
		resp.PendingFollowups = append(resp.PendingFollowups, protoconv.ToProtoFollowup(f))
	}
	if page.Next != nil {
		resp.NextPageToken = encodePageToken(req, *page.Next)
	}
	return resp, nil
}

// toDomainInteraction converts the input of RecordInteraction.
func toDomainInteraction(p *interactionv1.Interaction) (domain.Interaction, validation.Violations) {
	return protoconv.ToDomainInteraction(p)
}

func idempotencyKey(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	if vals := md.Get(IdempotencyKeyHeader); len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// pageCursor is the keyset position a page token carries.
type pageCursor struct {
	OccurMicros int64  `json:"t"`
	ID          string `json:"i"`
}

// encodePageToken returns the token for the page after c, bound to req.
func encodePageToken(req proto.Message, c domain.Cursor) string {
	return pagetoken.Encode(req, pageCursor{OccurMicros: c.OccurTime.UnixMicro(), ID: c.ID})
}

// decodePageToken returns the position req's page token continues after,
// nil on the first page. A token issued for other parameters is refused.
func decodePageToken(req proto.Message) (*domain.Cursor, error) {
	var t pageCursor
	ok, err := pagetoken.Decode(req, &t)
	if err == nil && ok && t.ID == "" {
		err = pagetoken.ErrInvalid
	}
	if err != nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this service issued"})
	}
	if !ok {
		return nil, nil
	}
	return &domain.Cursor{OccurTime: time.UnixMicro(t.OccurMicros).UTC(), ID: t.ID}, nil
}

// toStatus maps a domain error to a gRPC status. Anything unmapped is
// returned as is: the server's safety net logs it and answers Internal.
func toStatus(err error) error { return rpcerr.Map(err, statusRules...) }

// statusRules are this service's domain errors and the codes clients see,
// the first that matches winning.
var statusRules = []rpcerr.Rule{
	rpcerr.As[*domain.PreconditionError](codes.FailedPrecondition),
	rpcerr.As[*domain.TransitionError](codes.FailedPrecondition),
	rpcerr.Is(domain.ErrConflict, codes.AlreadyExists),
	rpcerr.Invalid(),
	rpcerr.As[*domain.CustomerNotFoundError](codes.NotFound),
	rpcerr.As[*domain.CustomerErasedError](codes.FailedPrecondition),
	rpcerr.IsMessage(domain.ErrUnavailable, codes.Unavailable, "customer service unavailable, retry later"),
	rpcerr.Is(domain.ErrNotFound, codes.NotFound),
	// Concurrent calls kept taking the same keys first: retrying finds
	// them recorded.
	rpcerr.IsMessage(domain.ErrDuplicate, codes.Aborted, "concurrent requests recorded the same items; retry"),
}
