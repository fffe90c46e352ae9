// Package grpc serves the LoyaltyService gRPC API: it converts between proto
// and domain types and maps domain errors to gRPC status codes.
package grpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/protoconv"
)

// Accounts is what the server needs of the use cases.
type Accounts interface {
	Account(ctx context.Context, customerID string) (domain.Account, error)
}

// Server implements loyaltyv1.LoyaltyServiceServer.
type Server struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
	app Accounts
}

// New returns a server answering from app.
func New(app Accounts) *Server {
	return &Server{app: app}
}

// GetLoyaltyAccount returns a customer's points and tier.
func (s *Server) GetLoyaltyAccount(ctx context.Context, req *loyaltyv1.GetLoyaltyAccountRequest) (*loyaltyv1.GetLoyaltyAccountResponse, error) {
	acc, err := s.app.Account(ctx, req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &loyaltyv1.GetLoyaltyAccountResponse{Account: toProtoAccount(acc)}, nil
}

func toProtoAccount(a domain.Account) *loyaltyv1.LoyaltyAccount {
	return &loyaltyv1.LoyaltyAccount{
		CustomerId:     a.CustomerID,
		PointsBalance:  a.PointsBalance,
		LifetimePoints: a.LifetimePoints,
		Tier:           protoconv.ToProtoTier(a.Tier),
		CreateTime:     timestamppb.New(a.CreateTime),
		UpdateTime:     timestamppb.New(a.UpdateTime),
	}
}

// toStatus maps domain errors to gRPC statuses. Anything else is returned
// as is, so the server's safety net logs it and answers Internal without
// leaking its detail.
func toStatus(err error) error {
	var (
		verr     *validation.Error
		notFound *domain.AccountNotFoundError
	)
	switch {
	case errors.As(err, &verr):
		return rpcerr.InvalidArgument(verr.Violations...)
	case errors.As(err, &notFound):
		return status.Error(codes.NotFound, notFound.Error())
	case errors.Is(err, domain.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	default:
		return err
	}
}
