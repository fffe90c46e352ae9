// Package grpc serves the LoyaltyService gRPC API: it converts between proto
// and domain types and maps domain errors to gRPC status codes.
package grpc

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/fieldmask"
	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/protoconv"
)

// Server implements loyaltyv1.LoyaltyServiceServer.
type Server struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
	// The areas of the use cases the RPCs call.
	accounts *app.Accounts
	points   *app.Points
	programs *app.Programs
	rewards  *app.Rewards
}

// New returns a server answering from a.
func New(a *app.Service) *Server {
	return &Server{accounts: a.Accounts, points: a.Points, programs: a.Programs, rewards: a.Rewards}
}

// GetLoyaltyAccount implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) GetLoyaltyAccount(ctx context.Context, req *loyaltyv1.GetLoyaltyAccountRequest) (*loyaltyv1.GetLoyaltyAccountResponse, error) {
	a, err := s.accounts.Account(ctx, req.GetProgramId(), req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.GetLoyaltyAccountResponse{Account: toProtoAccount(a)}, nil
}

// ListLedgerEntries implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) ListLedgerEntries(ctx context.Context, req *loyaltyv1.ListLedgerEntriesRequest) (*loyaltyv1.ListLedgerEntriesResponse, error) {
	// The use case pages by a cursor of its own; the token wraps it, bound
	// to the program and customer it was issued for.
	var cursor string
	if _, err := pagetoken.Decode(req, &cursor); err != nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this list returned"})
	}
	page, err := s.accounts.ListLedger(ctx, req.GetProgramId(), req.GetCustomerId(), int(req.GetPageSize()), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &loyaltyv1.ListLedgerEntriesResponse{NextPageToken: pagetoken.Next(req, page.NextPageToken)}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, protoconv.ToProtoEntry(e))
	}
	return out, nil
}

// EnrollMember implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) EnrollMember(ctx context.Context, req *loyaltyv1.EnrollMemberRequest) (*loyaltyv1.EnrollMemberResponse, error) {
	a, err := s.accounts.Enroll(ctx, req.GetProgramId(), req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.EnrollMemberResponse{Account: toProtoAccount(a)}, nil
}

// AdjustPoints implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) AdjustPoints(ctx context.Context, req *loyaltyv1.AdjustPointsRequest) (*loyaltyv1.AdjustPointsResponse, error) {
	e, err := s.points.AdjustPoints(ctx, app.Adjustment{
		ProgramID: req.GetProgramId(), CustomerID: req.GetCustomerId(), Points: req.GetPoints(),
		Reason: req.GetReason(), Actor: actor(ctx), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.AdjustPointsResponse{Entry: protoconv.ToProtoEntry(e)}, nil
}

// RecordEngagement implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) RecordEngagement(ctx context.Context, req *loyaltyv1.RecordEngagementRequest) (*loyaltyv1.RecordEngagementResponse, error) {
	es, err := s.points.RecordEngagement(ctx, app.Engagement{
		CustomerID: req.GetCustomerId(), Kind: req.GetKind(), SourceID: req.GetSourceId(), OccurTime: protoconv.ToDomainTime(req.GetOccurTime()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &loyaltyv1.RecordEngagementResponse{}
	for _, e := range es {
		out.Entries = append(out.Entries, protoconv.ToProtoEntry(e))
	}
	return out, nil
}

// CreateProgram implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) CreateProgram(ctx context.Context, req *loyaltyv1.CreateProgramRequest) (*loyaltyv1.CreateProgramResponse, error) {
	if req.GetProgram() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "program", Description: "is required"})
	}
	p, err := s.programs.CreateProgram(ctx, protoconv.ToDomainProgram(req.GetProgram()), requestID(ctx, req.GetRequestId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.CreateProgramResponse{Program: protoconv.ToProtoProgram(p)}, nil
}

// GetProgram implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) GetProgram(ctx context.Context, req *loyaltyv1.GetProgramRequest) (*loyaltyv1.GetProgramResponse, error) {
	if req.GetId() == "" {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "id", Description: "is required"})
	}
	p, err := s.programs.Program(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.GetProgramResponse{Program: protoconv.ToProtoProgram(p)}, nil
}

// ListPrograms implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) ListPrograms(ctx context.Context, _ *loyaltyv1.ListProgramsRequest) (*loyaltyv1.ListProgramsResponse, error) {
	ps, err := s.programs.Programs(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &loyaltyv1.ListProgramsResponse{}
	for _, p := range ps {
		out.Programs = append(out.Programs, protoconv.ToProtoProgram(p))
	}
	return out, nil
}

// UpdateProgram implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) UpdateProgram(ctx context.Context, req *loyaltyv1.UpdateProgramRequest) (*loyaltyv1.UpdateProgramResponse, error) {
	if req.GetProgram() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "program", Description: "is required"})
	}
	p, err := s.programs.UpdateProgram(ctx, protoconv.ToDomainProgram(req.GetProgram()), req.GetProgram().GetEtag(),
		fieldmask.ProtoNames(req.GetUpdateMask().GetPaths()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.UpdateProgramResponse{Program: protoconv.ToProtoProgram(p)}, nil
}

// CreateReward implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) CreateReward(ctx context.Context, req *loyaltyv1.CreateRewardRequest) (*loyaltyv1.CreateRewardResponse, error) {
	if req.GetReward() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "reward", Description: "is required"})
	}
	r, err := s.rewards.CreateReward(ctx, protoconv.ToDomainReward(req.GetReward()), requestID(ctx, req.GetRequestId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.CreateRewardResponse{Reward: protoconv.ToProtoReward(r)}, nil
}

// GetReward implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) GetReward(ctx context.Context, req *loyaltyv1.GetRewardRequest) (*loyaltyv1.GetRewardResponse, error) {
	r, err := s.rewards.Reward(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.GetRewardResponse{Reward: protoconv.ToProtoReward(r)}, nil
}

// ListRewards implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) ListRewards(ctx context.Context, req *loyaltyv1.ListRewardsRequest) (*loyaltyv1.ListRewardsResponse, error) {
	rs, err := s.rewards.Rewards(ctx, req.GetProgramId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &loyaltyv1.ListRewardsResponse{}
	for _, r := range rs {
		out.Rewards = append(out.Rewards, protoconv.ToProtoReward(r))
	}
	return out, nil
}

// UpdateReward implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) UpdateReward(ctx context.Context, req *loyaltyv1.UpdateRewardRequest) (*loyaltyv1.UpdateRewardResponse, error) {
	if req.GetReward() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "reward", Description: "is required"})
	}
	r, err := s.rewards.UpdateReward(ctx, protoconv.ToDomainReward(req.GetReward()), fieldmask.ProtoNames(req.GetUpdateMask().GetPaths()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.UpdateRewardResponse{Reward: protoconv.ToProtoReward(r)}, nil
}

// RedeemReward implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) RedeemReward(ctx context.Context, req *loyaltyv1.RedeemRewardRequest) (*loyaltyv1.RedeemRewardResponse, error) {
	rd, err := s.rewards.Redeem(ctx, req.GetRewardId(), req.GetCustomerId(), requestID(ctx, req.GetRequestId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.RedeemRewardResponse{Redemption: protoconv.ToProtoRedemption(rd)}, nil
}

// CancelRedemption implements loyaltyv1.LoyaltyServiceServer.
func (s *Server) CancelRedemption(ctx context.Context, req *loyaltyv1.CancelRedemptionRequest) (*loyaltyv1.CancelRedemptionResponse, error) {
	rd, err := s.rewards.CancelRedemption(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.CancelRedemptionResponse{Redemption: protoconv.ToProtoRedemption(rd)}, nil
}

// actor is the verified caller, or the person a service calls for.
func actor(ctx context.Context) string {
	id, _ := auth.FromContext(ctx)
	return id.Actor
}

// requestID is the request's request_id, or the Idempotency-Key the REST
// edge forwards.
func requestID(ctx context.Context, id string) string {
	if id != "" {
		return id
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("idempotency-key"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// toStatus maps domain errors to gRPC statuses. Anything else is returned
// as is, so the server's safety net logs it and answers Internal without
// leaking its detail.
func toStatus(err error) error { return rpcerr.Map(err, statusRules...) }

// statusRules are this service's domain errors and the codes clients see,
// the first that matches winning.
var statusRules = []rpcerr.Rule{
	rpcerr.Invalid(),
	rpcerr.As[*domain.AccountNotFoundError](codes.NotFound),
	rpcerr.IsMessage(domain.ErrNotFound, codes.NotFound, "not found"),
	rpcerr.IsMessage(domain.ErrInsufficientPoints, codes.FailedPrecondition, "insufficient points"),
	rpcerr.IsMessage(domain.ErrOutOfStock, codes.FailedPrecondition, "reward out of stock"),
	rpcerr.AsFunc(codes.FailedPrecondition, func(e *domain.EligibilityError) string { return e.Reason }),
	rpcerr.IsMessage(domain.ErrConflict, codes.Aborted, "the resource changed since it was read; read it again"),
	rpcerr.IsMessage(domain.ErrPointsOverflow, codes.FailedPrecondition, "points overflow"),
}

// toProtoAccount converts the use cases' view of an account.
func toProtoAccount(a app.Account) *loyaltyv1.LoyaltyAccount {
	m := a.Member
	status := loyaltyv1.MemberStatus_MEMBER_STATUS_ACTIVE
	if m.Status == domain.MemberMerged {
		status = loyaltyv1.MemberStatus_MEMBER_STATUS_MERGED
	}
	return &loyaltyv1.LoyaltyAccount{
		CustomerId:           m.CustomerID,
		PointsBalance:        a.Summary.Spendable(),
		LifetimePoints:       a.Summary.Lifetime,
		Tier:                 protoconv.ToProtoTier(a.Tier.Code),
		CreateTime:           protoconv.ToProtoTime(m.JoinTime),
		UpdateTime:           protoconv.ToProtoTime(m.UpdateTime),
		ProgramId:            m.ProgramID,
		MemberNumber:         m.Number,
		Status:               status,
		TierCode:             a.Tier.Code,
		TierName:             a.Tier.Name,
		PendingPoints:        a.Summary.Pending,
		ExpiringPoints:       a.ExpiringPoints,
		ExpiringTime:         protoconv.ToProtoTime(a.ExpiringTime),
		NextTierCode:         a.NextTier.Code,
		NextTierName:         a.NextTier.Name,
		PointsToNextTier:     a.PointsToNext,
		SpendToNextTierMinor: a.SpendToNext,
		WindowPoints:         a.Summary.WindowPoints,
		WindowSpendMinor:     a.Summary.WindowSpend,
		LedgerTotal:          a.Summary.Total,
		GraceUntil:           protoconv.ToProtoTime(m.GraceUntil),
	}
}
