package notification_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
)

// runSchedules runs RunSchedules to its end, polling its operation, and
// returns what it did.
func (h *harness) runSchedules(t *testing.T) *notificationv1.RunSchedulesResult {
	t.Helper()
	ctx := context.Background()
	resp, err := h.client.RunSchedules(ctx, &notificationv1.RunSchedulesRequest{})
	if err != nil {
		t.Fatalf("RunSchedules: %v", err)
	}
	op := resp.GetOperation()
	if !strings.HasPrefix(op.GetName(), "notification/operations/") {
		t.Fatalf("operation name %q", op.GetName())
	}
	testinfra.Eventually(t, 30*time.Second, "schedule run "+op.GetName()+" done", func() bool {
		if op.GetDone() {
			return true
		}
		got, err := h.client.GetOperation(ctx, &notificationv1.GetOperationRequest{Name: op.GetName()})
		if err != nil {
			t.Fatalf("GetOperation: %v", err)
		}
		op = got.GetOperation()
		return op.GetDone()
	})
	if op.GetError() != nil {
		t.Fatalf("schedule run failed: %v", status.ErrorProto(op.GetError()))
	}
	res := &notificationv1.RunSchedulesResult{}
	if err := op.GetResponse().UnmarshalTo(res); err != nil {
		t.Fatal(err)
	}
	return res
}
