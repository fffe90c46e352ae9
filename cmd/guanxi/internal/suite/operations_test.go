package suite_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// awaitOperation polls the REST edge for the operation op (as a call
// that started it answered) until it is done and returns its response;
// an operation that failed fails the test.
func (c client) awaitOperation(op map[string]any) map[string]any {
	c.t.Helper()
	name, _ := op["name"].(string)
	if name == "" {
		c.t.Fatalf("not an operation: %v", op)
	}
	testinfra.Eventually(c.t, 2*time.Minute, "operation "+name, func() bool {
		if op["done"] == true {
			return true
		}
		op = c.mustDo("GET", "/v1/"+name, "")
		return op["done"] == true
	})
	if e, failed := op["error"].(map[string]any); failed {
		c.t.Fatalf("operation %s failed: %v", name, e)
	}
	resp, _ := op["response"].(map[string]any)
	return resp
}

// awaitGRPC polls get for op until it is done, then returns its error as a
// status or unpacks its response into resp.
func awaitGRPC(t *testing.T, op *typev1.Operation, get func(ctx context.Context, name string) (*typev1.Operation, error), resp proto.Message) error {
	t.Helper()
	testinfra.Eventually(t, 5*time.Minute, "operation "+op.GetName(), func() bool {
		if op.GetDone() {
			return true
		}
		got, err := get(context.Background(), op.GetName())
		if err != nil {
			t.Fatalf("get operation %s: %v", op.GetName(), err)
		}
		op = got
		return op.GetDone()
	})
	if op.GetError() != nil {
		return status.ErrorProto(op.GetError())
	}
	return op.GetResponse().UnmarshalTo(resp)
}

// TestLongOperationsThroughREST: a recompute, a refit and a schedule run
// through the REST edge answer at once with an AIP-151 operation, which
// GET /v1/{name} returns until it is done with its typed response; a
// failed refit is the operation's error with the status the call would
// have had; unknown operations are 404.
func TestLongOperationsThroughREST(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	rc := api.mustDo("POST", "/v1/customerValues:recompute", `{}`)
	if name, _ := rc["name"].(string); !strings.HasPrefix(name, "segmentation/operations/") {
		t.Fatalf("recompute answered %v, want an operation", rc)
	}
	md, _ := rc["metadata"].(map[string]any)
	if md["@type"] != "type.googleapis.com/guanxi.type.v1.OperationMetadata" || md["method"] != "/guanxi.segmentation.v1.SegmentationService/RecomputeValues" {
		t.Errorf("operation metadata = %v", md)
	}
	res := api.awaitOperation(rc)
	if res["@type"] != "type.googleapis.com/guanxi.segmentation.v1.RecomputeValuesResult" || res["customerCount"] != "0" {
		t.Errorf("recompute result = %v", res)
	}

	// No purchases: the refit fails, as its operation's error.
	refit := api.mustDo("POST", "/v1/modelFit:refit", `{}`)
	name := refit["name"].(string)
	var op map[string]any
	testinfra.Eventually(t, time.Minute, "the refit ends", func() bool {
		op = api.mustDo("GET", "/v1/"+name, "")
		return op["done"] == true
	})
	if e, _ := op["error"].(map[string]any); e["code"] != float64(9) { // FAILED_PRECONDITION
		t.Errorf("refit without purchases = %v, want error code 9", op)
	}

	run := api.mustDo("POST", "/v1/schedules:run", `{}`)
	if name, _ := run["name"].(string); !strings.HasPrefix(name, "notification/operations/") {
		t.Fatalf("schedules:run answered %v, want an operation", run)
	}
	if got := api.awaitOperation(run); got["@type"] != "type.googleapis.com/guanxi.notification.v1.RunSchedulesResult" {
		t.Errorf("schedule run result = %v", got)
	}

	for _, path := range []string{"/v1/segmentation/operations/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f", "/v1/notification/operations/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f"} {
		if code, _ := api.do("GET", path, ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
