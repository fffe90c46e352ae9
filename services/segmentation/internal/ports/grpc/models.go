package grpc

import (
	"context"
	"time"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/protoconv"
)

// The defaults of PredictPurchases' and ValidateModel's zero fields.
const (
	defaultMaxCount     = 10
	defaultHoldoutWeeks = 39
)

// PredictPurchases returns a customer's (or a new customer's) purchase
// outlook under the current fit.
func (s *Server) PredictPurchases(ctx context.Context, req *segmentationv1.PredictPurchasesRequest) (*segmentationv1.PredictPurchasesResponse, error) {
	weeks, maxCount := int(req.GetHorizonWeeks()), int(req.GetMaxCount())
	if weeks == 0 {
		weeks = s.policy.HorizonWeeks
	}
	if maxCount == 0 {
		maxCount = defaultMaxCount
	}
	o, err := s.values.Outlook(ctx, req.GetCustomerId(), weeks, maxCount)
	if err != nil {
		return nil, toStatus(err)
	}
	return protoconv.ToProtoOutlook(o, s.currency, s.policy), nil
}

// ValidateModel compares the repeat-purchase models on a calibration
// period and the holdout after it.
func (s *Server) ValidateModel(ctx context.Context, req *segmentationv1.ValidateModelRequest) (*segmentationv1.ValidateModelResponse, error) {
	var end time.Time
	if ts := req.GetCalibrationEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, rpcerr.InvalidArgument(validation.Violation{Field: "calibration_end_time", Description: "is not a valid time"})
		}
		end = ts.AsTime()
	}
	weeks := int(req.GetHoldoutWeeks())
	if weeks == 0 {
		weeks = defaultHoldoutWeeks
	}
	v, err := s.values.ValidateModel(ctx, end, weeks)
	if err != nil {
		return nil, toStatus(err)
	}
	return protoconv.ToProtoValidation(v), nil
}
