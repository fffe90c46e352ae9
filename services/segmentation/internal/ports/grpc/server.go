// Package grpc serves the SegmentationService API: it converts between proto
// and domain types, validates input, and maps domain errors to gRPC status
// codes in one place.
package grpc

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/guanxi-crm/guanxi/platform/operations"
	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/app"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/protoconv"
)

// Server implements segmentationv1.SegmentationServiceServer.
type Server struct {
	segmentationv1.UnimplementedSegmentationServiceServer
	values   *app.Values
	segments *app.Segments
	demand   *app.Demand
	currency string
	policy   domain.PredictionPolicy
	ops      *operations.Runner
}

// NewServer returns the API over the areas of svc it calls (values,
// segments and demand), which report money in currency and predict under
// policy (for the horizons it reports).
func NewServer(svc *app.Service, currency string, policy domain.PredictionPolicy) *Server {
	return &Server{values: svc.Values, segments: svc.Segments, demand: svc.Demand, currency: currency, policy: policy}
}

// GetCustomerValue returns a customer's value: ABC class, spend, RFM and
// predictions.
func (s *Server) GetCustomerValue(ctx context.Context, req *segmentationv1.GetCustomerValueRequest) (*segmentationv1.GetCustomerValueResponse, error) {
	v, err := s.values.GetCustomerValue(ctx, req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetCustomerValueResponse{Value: protoconv.ToProtoCustomerValue(v, s.currency, s.policy)}, nil
}

// GetParetoSummary returns the classes' shares of customers and revenue.
func (s *Server) GetParetoSummary(ctx context.Context, req *segmentationv1.GetParetoSummaryRequest) (*segmentationv1.GetParetoSummaryResponse, error) {
	sum, asOf, err := s.values.ParetoSummary(ctx, domain.Cutoffs{A: req.GetClassACutoff(), B: req.GetClassBCutoff()})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &segmentationv1.GetParetoSummaryResponse{
		CustomerCount:             sum.Customers,
		Revenue:                   protoconv.RoundedMoney(s.currency, float64(sum.Revenue)),
		Top_20PercentRevenueShare: sum.Top20Share,
		ClassACutoff:              sum.Cutoffs.A,
		ClassBCutoff:              sum.Cutoffs.B,
		AsOfTime:                  protoconv.ToProtoTime(asOf),
	}
	for _, c := range sum.Classes {
		out.Classes = append(out.Classes, &segmentationv1.ClassShare{
			AbcClass: protoconv.ToProtoClass(c.Class), CustomerCount: c.Customers, CustomerShare: c.CustomerShare,
			Revenue: protoconv.RoundedMoney(s.currency, float64(c.Revenue)), RevenueShare: c.RevenueShare,
		})
	}
	return out, nil
}

// RecomputeValues starts recomputing every value and segment, as an
// operation: a recompute of a large population outlasts any call deadline.
func (s *Server) RecomputeValues(ctx context.Context, _ *segmentationv1.RecomputeValuesRequest) (*segmentationv1.RecomputeValuesResponse, error) {
	op, err := s.ops.StartProto(ctx, segmentationv1.SegmentationService_RecomputeValues_FullMethodName, func(ctx context.Context) (proto.Message, error) {
		res, err := s.values.RecomputeValues(ctx)
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
	op, err := s.ops.GetProto(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &segmentationv1.GetOperationResponse{Operation: op}, nil
}

// GetModelFit returns the current fit.
func (s *Server) GetModelFit(ctx context.Context, _ *segmentationv1.GetModelFitRequest) (*segmentationv1.GetModelFitResponse, error) {
	fit, err := s.values.GetModelFit(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetModelFitResponse{Fit: protoconv.ToProtoFit(fit)}, nil
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
	if err := s.values.CheckCalibrationEnd(end); err != nil {
		return nil, toStatus(err)
	}
	op, err := s.ops.StartProto(ctx, segmentationv1.SegmentationService_RefitModel_FullMethodName, func(ctx context.Context) (proto.Message, error) {
		fit, err := s.values.RefitModel(ctx, end)
		if err != nil {
			return nil, toStatus(err)
		}
		return protoconv.ToProtoFit(fit), nil
	})
	if err != nil {
		return nil, err
	}
	return &segmentationv1.RefitModelResponse{Operation: op}, nil
}

// CreateSegment defines a segment.
func (s *Server) CreateSegment(ctx context.Context, req *segmentationv1.CreateSegmentRequest) (*segmentationv1.CreateSegmentResponse, error) {
	if req.GetSegment() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "segment", Description: "is required"})
	}
	seg, err := s.segments.CreateSegment(ctx, protoconv.ToDomainSegment(req.GetSegment()), req.GetRequestId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.CreateSegmentResponse{Segment: protoconv.ToProtoSegment(seg)}, nil
}

// GetSegment returns a segment.
func (s *Server) GetSegment(ctx context.Context, req *segmentationv1.GetSegmentRequest) (*segmentationv1.GetSegmentResponse, error) {
	seg, err := s.segments.GetSegment(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.GetSegmentResponse{Segment: protoconv.ToProtoSegment(seg)}, nil
}

// ListSegments lists segments by name.
func (s *Server) ListSegments(ctx context.Context, req *segmentationv1.ListSegmentsRequest) (*segmentationv1.ListSegmentsResponse, error) {
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	segs, next, err := s.segments.ListSegments(ctx, req.GetPageSize(), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &segmentationv1.ListSegmentsResponse{NextPageToken: pagetoken.Next(req, next)}
	for _, seg := range segs {
		out.Segments = append(out.Segments, protoconv.ToProtoSegment(seg))
	}
	return out, nil
}

// UpdateSegment changes a segment.
func (s *Server) UpdateSegment(ctx context.Context, req *segmentationv1.UpdateSegmentRequest) (*segmentationv1.UpdateSegmentResponse, error) {
	if req.GetSegment() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "segment", Description: "is required"})
	}
	seg, err := s.segments.UpdateSegment(ctx, protoconv.ToDomainSegment(req.GetSegment()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.UpdateSegmentResponse{Segment: protoconv.ToProtoSegment(seg)}, nil
}

// DeleteSegment deletes a segment.
func (s *Server) DeleteSegment(ctx context.Context, req *segmentationv1.DeleteSegmentRequest) (*segmentationv1.DeleteSegmentResponse, error) {
	if err := s.segments.DeleteSegment(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.DeleteSegmentResponse{}, nil
}

// ListSegmentMembers pages through a segment's members.
func (s *Server) ListSegmentMembers(ctx context.Context, req *segmentationv1.ListSegmentMembersRequest) (*segmentationv1.ListSegmentMembersResponse, error) {
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	ids, next, total, err := s.segments.ListSegmentMembers(ctx, req.GetSegmentId(), req.GetPageSize(), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.ListSegmentMembersResponse{CustomerIds: ids, NextPageToken: pagetoken.Next(req, next), TotalSize: total}, nil
}

// pageCursor returns the use case's cursor inside req's page token, "" on
// the first page. The token is bound to the rest of req, so one issued for
// another segment is refused.
func pageCursor(req proto.Message) (string, error) {
	var cursor string
	if _, err := pagetoken.Decode(req, &cursor); err != nil {
		return "", rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this API returned"})
	}
	return cursor, nil
}

// StreamSegmentMembers streams a segment's members in pages.
func (s *Server) StreamSegmentMembers(req *segmentationv1.StreamSegmentMembersRequest, stream grpc.ServerStreamingServer[segmentationv1.StreamSegmentMembersResponse]) error {
	err := s.segments.StreamSegmentMembers(stream.Context(), req.GetSegmentId(), func(ids []string) error {
		return stream.Send(&segmentationv1.StreamSegmentMembersResponse{CustomerIds: ids})
	})
	if err != nil {
		return toStatus(err)
	}
	return nil
}

// CheckSegmentMembership says whether a customer is a member.
func (s *Server) CheckSegmentMembership(ctx context.Context, req *segmentationv1.CheckSegmentMembershipRequest) (*segmentationv1.CheckSegmentMembershipResponse, error) {
	ok, err := s.segments.CheckMembership(ctx, req.GetSegmentId(), req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.CheckSegmentMembershipResponse{Member: ok}, nil
}

// ListDemandSeries returns monthly demand per category.
func (s *Server) ListDemandSeries(ctx context.Context, req *segmentationv1.ListDemandSeriesRequest) (*segmentationv1.ListDemandSeriesResponse, error) {
	series, err := s.demand.ListDemandSeries(ctx, req.GetCategory())
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
	f, err := s.demand.ForecastDemand(ctx, req.GetCategory(), req.GetHorizonMonths())
	if err != nil {
		return nil, toStatus(err)
	}
	return &segmentationv1.ForecastDemandResponse{
		History:          s.toProtoSeries(f.History),
		Forecast:         s.toProtoSeries(f.Forecast),
		Method:           f.Quantity.Method,
		Fallback:         f.Quantity.Fallback,
		QuantityAccuracy: toProtoAccuracy(f.Quantity, 1),
		// The revenue error is in the currency's major unit.
		RevenueAccuracy: toProtoAccuracy(f.Revenue, s.policy.MinorPerMajor),
	}, nil
}

// toProtoAccuracy presents a forecast's held-out errors next to the
// baselines', absolute errors divided by scale.
func toProtoAccuracy(f model.Forecast, scale float64) *segmentationv1.ForecastAccuracy {
	out := &segmentationv1.ForecastAccuracy{HeldOutMonths: int32(f.HeldOut), Mape: f.Error.MAPE, Mae: f.Error.MAE / scale, BeatsBaselines: f.HeldOut > 0}
	for _, b := range []struct {
		method string
		acc    model.Accuracy
	}{{"seasonal_naive", f.SeasonalNaive}, {"naive", f.Naive}} {
		if !b.acc.Set {
			continue
		}
		out.Baselines = append(out.Baselines, &segmentationv1.BaselineAccuracy{Method: b.method, Mape: b.acc.MAPE, Mae: b.acc.MAE / scale})
		out.BeatsBaselines = out.BeatsBaselines && f.Error.Beats(b.acc)
	}
	return out
}

func (s *Server) toProtoSeries(d app.DemandSeries) *segmentationv1.DemandSeries {
	out := &segmentationv1.DemandSeries{Category: d.Category}
	for i := range d.Quantity {
		m := d.FirstMonth + i
		out.Points = append(out.Points, &segmentationv1.DemandPoint{
			Month:    fmt.Sprintf("%04d-%02d", m/12, m%12+1),
			Quantity: d.Quantity[i],
			Revenue:  protoconv.RoundedMoney(s.currency, d.Revenue[i]),
			// A running month is not a low month: readers and charts
			// must tell it apart (forecasts already fit without it).
			Incomplete: d.IncompleteFrom != 0 && m >= d.IncompleteFrom,
		})
	}
	return out
}

// toStatus maps domain errors to gRPC status errors; anything unmapped is
// returned as is for the server's safety net to log and hide.
func toStatus(err error) error { return rpcerr.Map(err, statusRules...) }

// statusRules are this service's domain errors and the codes clients see.
var statusRules = []rpcerr.Rule{
	rpcerr.Invalid(),
	rpcerr.Is(domain.ErrNotFound, codes.NotFound),
	rpcerr.Is(domain.ErrConflict, codes.Aborted),
	rpcerr.Is(domain.ErrAlreadyExists, codes.AlreadyExists),
	rpcerr.Is(domain.ErrFailedPrecondition, codes.FailedPrecondition),
	rpcerr.Context(),
}
