// Package grpc serves the InteractionService API: it converts requests to
// app commands, app results to responses, and domain errors to gRPC
// statuses.
package grpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/auth"
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
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this service issued"})
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
		resp.NextPageToken = encodePageToken(*page.Next)
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

// pageToken is the keyset cursor behind an opaque page token.
type pageToken struct {
	OccurMicros int64  `json:"t"`
	ID          string `json:"i"`
}

func encodePageToken(c domain.Cursor) string {
	b, err := json.Marshal(pageToken{OccurMicros: c.OccurTime.UnixMicro(), ID: c.ID})
	if err != nil {
		// Marshalling an int and a string cannot fail.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (*domain.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	if t.ID == "" {
		return nil, errors.New("page token without id")
	}
	return &domain.Cursor{OccurTime: time.UnixMicro(t.OccurMicros).UTC(), ID: t.ID}, nil
}

// toStatus maps a domain error to a gRPC status. Anything unmapped is
// returned as is: the server's safety net logs it and answers Internal.
func toStatus(err error) error {
	var verr *validation.Error
	var cnf *domain.CustomerNotFoundError
	var erased *domain.CustomerErasedError
	var transition *domain.TransitionError
	var precondition *domain.PreconditionError
	switch {
	case errors.As(err, &precondition):
		return status.Error(codes.FailedPrecondition, precondition.Error())
	case errors.As(err, &transition):
		return status.Error(codes.FailedPrecondition, transition.Error())
	case errors.Is(err, domain.ErrConflict):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.As(err, &verr):
		return rpcerr.InvalidArgument(verr.Violations...)
	case errors.As(err, &cnf):
		return status.Error(codes.NotFound, cnf.Error())
	case errors.As(err, &erased):
		return status.Error(codes.FailedPrecondition, erased.Error())
	case errors.Is(err, domain.ErrUnavailable):
		return status.Error(codes.Unavailable, "customer service unavailable, retry later")
	case errors.Is(err, domain.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, domain.ErrDuplicate):
		// Concurrent calls kept taking the same keys first: retrying
		// finds them recorded.
		return status.Error(codes.Aborted, "concurrent requests recorded the same items; retry")
	}
	return err
}
