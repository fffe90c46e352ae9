package segmentation_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// TestOperationsOutliveTheCallAndAnyReplicaAnswers: RecomputeValues and
// RefitModel answer at once with an operation; polled on another replica
// of the service (sharing its PostgreSQL database) it is found and ends
// with the result or the error the call would have given; unknown and
// malformed names are NOT_FOUND and INVALID_ARGUMENT.
func TestOperationsOutliveTheCallAndAnyReplicaAnswers(t *testing.T) {
	dbURL := testinfra.PostgresURL(t)
	natsURL := testinfra.EmbeddedNATS(t)
	a := startOn(t, dbURL, natsURL)
	b := startOn(t, dbURL, natsURL)
	ctx := context.Background()

	started, err := a.client.RecomputeValues(ctx, &segmentationv1.RecomputeValuesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	op := started.GetOperation()
	md := &typev1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil || md.GetMethod() != segmentationv1.SegmentationService_RecomputeValues_FullMethodName || md.GetCreateTime() == nil {
		t.Errorf("operation metadata = %v, %v", md, err)
	}
	res := &segmentationv1.RecomputeValuesResult{}
	if err := b.await(t, op, res); err != nil {
		t.Fatalf("recompute polled on the other replica: %v", err)
	}
	if res.GetDuration() == nil {
		t.Errorf("recompute result = %v", res)
	}

	// The refit's failure (nobody to fit) is the operation's error.
	refit, err := a.client.RefitModel(ctx, &segmentationv1.RefitModelRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.await(t, refit.GetOperation(), &segmentationv1.ModelFit{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("refit without purchases: %v, want FailedPrecondition", err)
	}
	got, err := b.client.GetOperation(ctx, &segmentationv1.GetOperationRequest{Name: refit.GetOperation().GetName()})
	if err != nil || !got.GetOperation().GetDone() || got.GetOperation().GetResponse() != nil {
		t.Errorf("ended refit = %v, %v", got, err)
	}

	for name, want := range map[string]codes.Code{
		"segmentation/operations/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f": codes.NotFound,
		"notification/operations/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f": codes.InvalidArgument,
		"segmentation/operations/not-an-id":                            codes.InvalidArgument,
	} {
		if _, err := b.client.GetOperation(ctx, &segmentationv1.GetOperationRequest{Name: name}); status.Code(err) != want {
			t.Errorf("GetOperation(%s): %v, want %v", name, err, want)
		}
	}
}
