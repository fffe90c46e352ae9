package operations_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/guanxi-crm/guanxi/platform/operations"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// await polls r for name until the operation has ended.
func await(t *testing.T, r *operations.Runner, name string) operations.Operation {
	t.Helper()
	var op operations.Operation
	testinfra.Eventually(t, 10*time.Second, "operation "+name+" ends", func() bool {
		var err error
		if op, err = r.Get(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		return op.Done()
	})
	return op
}

// TestOperations: work answers later than its call; its response, its
// status error or (for a plain error) a bare INTERNAL is stored; another
// runner on the same database reads it; work still running when the
// runner stops ends ABORTED.
func TestOperations(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			db := testinfra.OpenDB(t, d.URL, nil)
			r := operations.New(db, "test", nil)
			other := operations.New(db, "test", nil)
			ctx := context.Background()

			release := make(chan struct{})
			op, err := r.Start(ctx, "/test.v1.Test/Slow", func(context.Context) (proto.Message, error) {
				<-release
				return wrapperspb.String("done"), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := other.Get(ctx, op.Name); err != nil || got.Done() || got.Method != "/test.v1.Test/Slow" {
				t.Fatalf("running operation read by another runner = %+v, %v", got, err)
			}
			close(release)
			ended := await(t, other, op.Name)
			resp := &wrapperspb.StringValue{}
			if ended.Error != nil || ended.Response.UnmarshalTo(resp) != nil || resp.GetValue() != "done" || ended.EndTime.Before(ended.CreateTime) {
				t.Errorf("ended operation = %+v", ended)
			}

			failed, _ := r.Start(ctx, "/test.v1.Test/Fail", func(context.Context) (proto.Message, error) {
				return nil, status.Error(codes.FailedPrecondition, "too few customers")
			})
			if got := await(t, r, failed.Name); got.Error.GetCode() != int32(codes.FailedPrecondition) || got.Error.GetMessage() != "too few customers" || got.Response != nil {
				t.Errorf("failed operation = %+v", got)
			}
			leaky, _ := r.Start(ctx, "/test.v1.Test/Leak", func(context.Context) (proto.Message, error) {
				return nil, errors.New("dial tcp 10.0.0.7:5432: secret detail")
			})
			if got := await(t, r, leaky.Name); got.Error.GetCode() != int32(codes.Internal) || got.Error.GetMessage() != "internal error" {
				t.Errorf("operation failing with a plain error = %+v", got)
			}

			running, _ := r.Start(ctx, "/test.v1.Test/Forever", func(ctx context.Context) (proto.Message, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			})
			r.Stop()
			if got, err := other.Get(ctx, running.Name); err != nil || got.Error.GetCode() != int32(codes.Aborted) {
				t.Errorf("operation running at stop = %+v, %v; want ABORTED", got, err)
			}

			// A replica killed mid-work stops renewing its operation's
			// heartbeat (set back here as its death would leave it); the
			// next poll ends it ABORTED instead of leaving it running for
			// ever, and the work's late outcome does not overwrite that.
			dead := operations.New(db, "test", nil)
			release = make(chan struct{})
			orphan, _ := dead.Start(ctx, "/test.v1.Test/Orphan", func(context.Context) (proto.Message, error) {
				<-release
				return wrapperspb.String("too late"), nil
			})
			if got, err := other.Get(ctx, orphan.Name); err != nil || got.Done() {
				t.Fatalf("fresh running operation = %+v, %v; want running", got, err)
			}
			stale := time.Now().Add(-2 * operations.OrphanAfter).UnixMicro()
			if _, err := db.Exec(ctx, `UPDATE operations SET heartbeat_time = ? WHERE name = ?`, stale, orphan.Name); err != nil {
				t.Fatal(err)
			}
			if got, err := other.Get(ctx, orphan.Name); err != nil || got.Error.GetCode() != int32(codes.Aborted) {
				t.Errorf("operation of a dead replica = %+v, %v; want ABORTED", got, err)
			}
			close(release)
			dead.Stop()
			if got, _ := other.Get(ctx, orphan.Name); got.Error.GetCode() != int32(codes.Aborted) || got.Response != nil {
				t.Errorf("orphaned operation after its work ended = %+v; want still ABORTED", got)
			}

			if _, err := r.Get(ctx, "test/operations/0190b8a4-8f5e-7c3a-9d2b-1a2b3c4d5e6f"); status.Code(err) != codes.NotFound {
				t.Errorf("unknown operation: %v", err)
			}
		})
	}
}
