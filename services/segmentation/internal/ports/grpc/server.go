// Package grpc serves the SegmentationService API: it converts between proto
// and domain types, validates input, and maps domain errors to gRPC status
// codes in one place.
package grpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	segevents "github.com/guanxi-crm/guanxi/services/segmentation/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Server implements segmentationv1.SegmentationServiceServer.
type Server struct {
	segmentationv1.UnimplementedSegmentationServiceServer
	svc *app.Service
}

// NewServer returns the API over svc.
func NewServer(svc *app.Service) *Server {
	return &Server{svc: svc}
}

// GetCustomerValue returns a customer's ABC class and spend.
func (s *Server) GetCustomerValue(ctx context.Context, req *segmentationv1.GetCustomerValueRequest) (*segmentationv1.GetCustomerValueResponse, error) {
	v, err := s.svc.GetCustomerValue(ctx, req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetCustomerValueResponse{Value: toProtoCustomerValue(v)}, nil
}

func toProtoCustomerValue(v domain.CustomerValue) *segmentationv1.CustomerValue {
	return &segmentationv1.CustomerValue{
		CustomerId:        v.CustomerID,
		AbcClass:          segevents.ToProtoClass(v.Class),
		TrailingSpend:     toProtoMoney(v.TrailingSpend),
		LifetimeSpend:     toProtoMoney(v.LifetimeSpend),
		PurchaseCount:     v.PurchaseCount,
		FirstPurchaseTime: toProtoTime(v.FirstPurchaseTime),
		LastPurchaseTime:  toProtoTime(v.LastPurchaseTime),
		RevenueShareAbove: v.RevenueShareAbove,
		ComputeTime:       toProtoTime(v.ComputeTime),
	}
}

func toProtoMoney(m domain.Money) *typev1.Money {
	return &typev1.Money{CurrencyCode: m.Currency, AmountMinor: m.Minor}
}

// toProtoTime leaves unknown times (no purchase yet) unset rather than
// sending 1970.
func toProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// toStatus maps domain errors to gRPC status errors; anything unmapped is
// returned as is for the server's safety net to log and hide.
func toStatus(err error) error {
	var verr *validation.Error
	switch {
	case errors.As(err, &verr):
		return rpcerr.InvalidArgument(verr.Violations...)
	case errors.Is(err, domain.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	default:
		return err
	}
}
