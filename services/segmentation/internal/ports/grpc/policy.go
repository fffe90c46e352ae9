package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// Policy says which roles may call each RPC. Analysts read everything but
// are read-only; managers define segments and rerun the models.
var Policy = auth.Policy{
	segmentationv1.SegmentationService_GetCustomerValue_FullMethodName:       auth.Allow(auth.Readers...),
	segmentationv1.SegmentationService_StreamSegmentMembers_FullMethodName:   auth.Allow(auth.Manager, auth.Analyst, auth.Integration),
	segmentationv1.SegmentationService_GetParetoSummary_FullMethodName:       auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
	segmentationv1.SegmentationService_RecomputeValues_FullMethodName:        auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_GetModelFit_FullMethodName:            auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
	segmentationv1.SegmentationService_RefitModel_FullMethodName:             auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_GetOperation_FullMethodName:           auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_CreateSegment_FullMethodName:          auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_GetSegment_FullMethodName:             auth.Allow(auth.Readers...),
	segmentationv1.SegmentationService_ListSegments_FullMethodName:           auth.Allow(auth.Readers...),
	segmentationv1.SegmentationService_UpdateSegment_FullMethodName:          auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_DeleteSegment_FullMethodName:          auth.Allow(auth.Manager),
	segmentationv1.SegmentationService_ListSegmentMembers_FullMethodName:     auth.Allow(auth.Manager, auth.Analyst, auth.Auditor),
	segmentationv1.SegmentationService_CheckSegmentMembership_FullMethodName: auth.Allow(auth.Readers...),
	segmentationv1.SegmentationService_ListDemandSeries_FullMethodName:       auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
	segmentationv1.SegmentationService_ForecastDemand_FullMethodName:         auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
	segmentationv1.SegmentationService_PredictPurchases_FullMethodName:       auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
	segmentationv1.SegmentationService_ValidateModel_FullMethodName:          auth.Allow(auth.Manager, auth.Auditor, auth.Analyst),
}
