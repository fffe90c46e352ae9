// Package grpc serves the SegmentationService API: it converts between proto
// and domain types, validates input, and maps domain errors to gRPC status
// codes in one place.
package grpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/operations"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/protoconv"
)

// Server implements segmentationv1.SegmentationServiceServer.
type Server struct {
	segmentationv1.UnimplementedSegmentationServiceServer
	svc      *app.Service
	currency string
	policy   domain.PredictionPolicy
	ops      *operations.Runner
}

// NewServer returns the API over svc, which reports money in currency
// and predicts under policy (for the horizons it reports).
func NewServer(svc *app.Service, currency string, policy domain.PredictionPolicy) *Server {
	return &Server{svc: svc, currency: currency, policy: policy}
}

// GetCustomerValue returns a customer's value: ABC class, spend, RFM and
// predictions.
func (s *Server) GetCustomerValue(ctx context.Context, req *segmentationv1.GetCustomerValueRequest) (*segmentationv1.GetCustomerValueResponse, error) {
	v, err := s.svc.GetCustomerValue(ctx, req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetCustomerValueResponse{Value: s.toProtoCustomerValue(v)}, nil
}

func (s *Server) toProtoCustomerValue(v domain.CustomerValue) *segmentationv1.CustomerValue {
	out := &segmentationv1.CustomerValue{
		CustomerId:        v.CustomerID,
		AbcClass:          protoconv.ToProtoClass(v.Class),
		TrailingSpend:     toProtoMoney(v.TrailingSpend),
		LifetimeSpend:     toProtoMoney(v.LifetimeSpend),
		PurchaseCount:     v.PurchaseCount,
		FirstPurchaseTime: toProtoTime(v.FirstPurchaseTime),
		LastPurchaseTime:  toProtoTime(v.LastPurchaseTime),
		RevenueShareAbove: v.RevenueShareAbove,
		ComputeTime:       toProtoTime(v.ComputeTime),
		PurchaseDays:      v.PurchaseDays,
		Refunds:           toProtoMoney(v.Refunds),
	}
	if v.RFM.R > 0 {
		out.Rfm = &segmentationv1.RfmScore{Recency: int32(v.RFM.R), Frequency: int32(v.RFM.F), Monetary: int32(v.RFM.M), Segment: v.RFM.Segment}
	}
	if v.Predicted {
		out.Prediction = &segmentationv1.CustomerPrediction{
			PAlive:             v.Prediction.PAlive,
			ExpectedPurchases:  v.Prediction.ExpectedPurchases,
			HorizonWeeks:       int32(s.policy.HorizonWeeks),
			ExpectedOrderValue: s.money(v.Prediction.ExpectedAOV),
			Clv:                s.money(v.Prediction.CLV),
			ClvHorizonMonths:   int32(s.policy.CLVMonths),
		}
	}
	for _, c := range v.CategorySpends {
		out.CategorySpends = append(out.CategorySpends, &segmentationv1.CategorySpend{
			Category: c.Category, Quantity: c.Quantity, Spend: s.money(float64(c.Spend)),
		})
	}
	return out
}

// money rounds an amount in minor units of the reporting currency.
func (s *Server) money(minor float64) *typev1.Money {
	if math.IsNaN(minor) || math.IsInf(minor, 0) {
		minor = 0
	}
	return &typev1.Money{CurrencyCode: s.currency, AmountMinor: int64(math.Round(minor))}
}

// GetParetoSummary returns the classes' shares of customers and revenue.
func (s *Server) GetParetoSummary(ctx context.Context, req *segmentationv1.GetParetoSummaryRequest) (*segmentationv1.GetParetoSummaryResponse, error) {
	sum, asOf, err := s.svc.ParetoSummary(ctx, domain.Cutoffs{A: req.GetClassACutoff(), B: req.GetClassBCutoff()})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &segmentationv1.GetParetoSummaryResponse{
		CustomerCount:             sum.Customers,
		Revenue:                   s.money(float64(sum.Revenue)),
		Top_20PercentRevenueShare: sum.Top20Share,
		ClassACutoff:              sum.Cutoffs.A,
		ClassBCutoff:              sum.Cutoffs.B,
		AsOfTime:                  toProtoTime(asOf),
	}
	for _, c := range sum.Classes {
		out.Classes = append(out.Classes, &segmentationv1.ClassShare{
			AbcClass: protoconv.ToProtoClass(c.Class), CustomerCount: c.Customers, CustomerShare: c.CustomerShare,
			Revenue: s.money(float64(c.Revenue)), RevenueShare: c.RevenueShare,
		})
	}
	return out, nil
}

// RecomputeValues starts recomputing every value and segment, as an
// operation: a recompute of a large population outlasts any call deadline.
func (s *Server) RecomputeValues(ctx context.Context, _ *segmentationv1.RecomputeValuesRequest) (*segmentationv1.RecomputeValuesResponse, error) {
	op, err := s.startOperation(ctx, segmentationv1.SegmentationService_RecomputeValues_FullMethodName, func(ctx context.Context) (proto.Message, error) {
		res, err := s.svc.RecomputeValues(ctx)
		if err != nil {
			return nil, toStatus(err)
		}
		return &segmentationv1.RecomputeValuesResult{
			CustomerCount: res.Customers, ClassChangeCount: res.ClassChanges,
			MembershipChangeCount: res.MembershipChanges, Duration: durationpb.New(res.Duration),
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return &segmentationv1.RecomputeValuesResponse{Operation: op}, nil
}

// GetOperation returns an operation of this service.
func (s *Server) GetOperation(ctx context.Context, req *segmentationv1.GetOperationRequest) (*segmentationv1.GetOperationResponse, error) {
	op, err := s.getOperation(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &segmentationv1.GetOperationResponse{Operation: op}, nil
}

// GetModelFit returns the current fit.
func (s *Server) GetModelFit(ctx context.Context, _ *segmentationv1.GetModelFitRequest) (*segmentationv1.GetModelFitResponse, error) {
	fit, err := s.svc.GetModelFit(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetModelFitResponse{Fit: toProtoFit(fit)}, nil
}

// RefitModel starts fitting the models and recomputing every value, as an
// operation; a calibration end in the future is refused at once.
func (s *Server) RefitModel(ctx context.Context, req *segmentationv1.RefitModelRequest) (*segmentationv1.RefitModelResponse, error) {
	var end time.Time
	if ts := req.GetCalibrationEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, rpcerr.InvalidArgument(validation.Violation{Field: "calibration_end_time", Description: "is not a valid time"})
		}
		end = ts.AsTime()
	}
	if err := s.svc.CheckCalibrationEnd(end); err != nil {
		return nil, toStatus(err)
	}
	op, err := s.startOperation(ctx, segmentationv1.SegmentationService_RefitModel_FullMethodName, func(ctx context.Context) (proto.Message, error) {
		fit, err := s.svc.RefitModel(ctx, end)
		if err != nil {
			return nil, toStatus(err)
		}
		return toProtoFit(fit), nil
	})
	if err != nil {
		return nil, err
	}
	return &segmentationv1.RefitModelResponse{Operation: op}, nil
}

func toProtoFit(f domain.ModelFit) *segmentationv1.ModelFit {
	return &segmentationv1.ModelFit{
		R: f.BGNBD.R, Alpha: f.BGNBD.Alpha, A: f.BGNBD.A, B: f.BGNBD.B,
		LogLikelihood: f.LogLikelihood, CustomerCount: f.Customers,
		P: f.Spend.P, Q: f.Spend.Q, Gamma: f.Spend.Gamma,
		SpendLogLikelihood: f.SpendLogLikelihood, RepeatCustomerCount: f.RepeatCustomers,
		CalibrationEndTime: toProtoTime(f.CalibrationEnd), FitTime: toProtoTime(f.FitTime),
		FitDuration: durationpb.New(f.Duration), TimeUnit: "week", BgnbdFitDuration: durationpb.New(f.BGNBDDuration),
	}
}

// CreateSegment defines a segment.
func (s *Server) CreateSegment(ctx context.Context, req *segmentationv1.CreateSegmentRequest) (*segmentationv1.CreateSegmentResponse, error) {
	if req.GetSegment() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "segment", Description: "is required"})
	}
	seg, err := s.svc.CreateSegment(ctx, toDomainSegment(req.GetSegment()), req.GetRequestId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.CreateSegmentResponse{Segment: toProtoSegment(seg)}, nil
}

// GetSegment returns a segment.
func (s *Server) GetSegment(ctx context.Context, req *segmentationv1.GetSegmentRequest) (*segmentationv1.GetSegmentResponse, error) {
	seg, err := s.svc.GetSegment(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetSegmentResponse{Segment: toProtoSegment(seg)}, nil
}

// ListSegments lists segments by name.
func (s *Server) ListSegments(ctx context.Context, req *segmentationv1.ListSegmentsRequest) (*segmentationv1.ListSegmentsResponse, error) {
	segs, next, err := s.svc.ListSegments(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &segmentationv1.ListSegmentsResponse{NextPageToken: next}
	for _, seg := range segs {
		out.Segments = append(out.Segments, toProtoSegment(seg))
	}
	return out, nil
}

// UpdateSegment changes a segment.
func (s *Server) UpdateSegment(ctx context.Context, req *segmentationv1.UpdateSegmentRequest) (*segmentationv1.UpdateSegmentResponse, error) {
	if req.GetSegment() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "segment", Description: "is required"})
	}
	seg, err := s.svc.UpdateSegment(ctx, toDomainSegment(req.GetSegment()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.UpdateSegmentResponse{Segment: toProtoSegment(seg)}, nil
}

// DeleteSegment deletes a segment.
func (s *Server) DeleteSegment(ctx context.Context, req *segmentationv1.DeleteSegmentRequest) (*segmentationv1.DeleteSegmentResponse, error) {
	if err := s.svc.DeleteSegment(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.DeleteSegmentResponse{}, nil
}

// ListSegmentMembers pages through a segment's members.
func (s *Server) ListSegmentMembers(ctx context.Context, req *segmentationv1.ListSegmentMembersRequest) (*segmentationv1.ListSegmentMembersResponse, error) {
	ids, next, total, err := s.svc.ListSegmentMembers(ctx, req.GetSegmentId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.ListSegmentMembersResponse{CustomerIds: ids, NextPageToken: next, TotalSize: total}, nil
}

// StreamSegmentMembers streams a segment's members in pages.
func (s *Server) StreamSegmentMembers(req *segmentationv1.StreamSegmentMembersRequest, stream grpc.ServerStreamingServer[segmentationv1.StreamSegmentMembersResponse]) error {
	err := s.svc.StreamSegmentMembers(stream.Context(), req.GetSegmentId(), func(ids []string) error {
		return stream.Send(&segmentationv1.StreamSegmentMembersResponse{CustomerIds: ids})
	})
	if err != nil {
		return toStatus(err)
	}
	return nil
}

// CheckSegmentMembership says whether a customer is a member.
func (s *Server) CheckSegmentMembership(ctx context.Context, req *segmentationv1.CheckSegmentMembershipRequest) (*segmentationv1.CheckSegmentMembershipResponse, error) {
	ok, err := s.svc.CheckMembership(ctx, req.GetSegmentId(), req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.CheckSegmentMembershipResponse{Member: ok}, nil
}

// ListDemandSeries returns monthly demand per category.
func (s *Server) ListDemandSeries(ctx context.Context, req *segmentationv1.ListDemandSeriesRequest) (*segmentationv1.ListDemandSeriesResponse, error) {
	series, err := s.svc.ListDemandSeries(ctx, req.GetCategory())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &segmentationv1.ListDemandSeriesResponse{}
	for _, d := range series {
		out.Series = append(out.Series, s.toProtoSeries(d))
	}
	return out, nil
}

// ForecastDemand forecasts a category's monthly demand.
func (s *Server) ForecastDemand(ctx context.Context, req *segmentationv1.ForecastDemandRequest) (*segmentationv1.ForecastDemandResponse, error) {
	f, err := s.svc.ForecastDemand(ctx, req.GetCategory(), req.GetHorizonMonths())
	if err != nil {
		return nil, toStatus(err)
	}
	method := "holt_linear"
	if f.Seasonal {
		method = "holt_winters_additive"
	}
	return &segmentationv1.ForecastDemandResponse{
		History:          s.toProtoSeries(f.History),
		Forecast:         s.toProtoSeries(f.Forecast),
		Method:           method,
		QuantityAccuracy: &segmentationv1.ForecastAccuracy{HeldOutMonths: int32(f.Quantity.HeldOut), Mape: f.Quantity.MAPE, Mae: f.Quantity.MAE},
		// The revenue error is in the currency's major unit.
		RevenueAccuracy: &segmentationv1.ForecastAccuracy{HeldOutMonths: int32(f.Revenue.HeldOut), Mape: f.Revenue.MAPE, Mae: f.Revenue.MAE / s.policy.MinorPerMajor},
	}, nil
}

func (s *Server) toProtoSeries(d app.DemandSeries) *segmentationv1.DemandSeries {
	out := &segmentationv1.DemandSeries{Category: d.Category}
	for i := range d.Quantity {
		m := d.FirstMonth + i
		out.Points = append(out.Points, &segmentationv1.DemandPoint{
			Month:    fmt.Sprintf("%04d-%02d", m/12, m%12+1),
			Quantity: d.Quantity[i],
			Revenue:  s.money(d.Revenue[i]),
			// A running month is not a low month: readers and charts
			// must tell it apart (forecasts already fit without it).
			Incomplete: d.IncompleteFrom != 0 && m >= d.IncompleteFrom,
		})
	}
	return out
}

func toDomainSegment(p *segmentationv1.Segment) domain.Segment {
	return domain.Segment{ID: p.GetId(), Name: p.GetName(), Description: p.GetDescription(), Filter: p.GetFilter(), Etag: p.GetEtag()}
}

func toProtoSegment(s domain.Segment) *segmentationv1.Segment {
	return &segmentationv1.Segment{
		Id: s.ID, Name: s.Name, Description: s.Description, Filter: s.Filter, MemberCount: s.MemberCount,
		CreateTime: toProtoTime(s.CreateTime), UpdateTime: toProtoTime(s.UpdateTime), Etag: s.Etag,
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
	case errors.Is(err, domain.ErrConflict):
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, domain.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, domain.ErrFailedPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	default:
		return err
	}
}
