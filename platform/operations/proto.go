package operations

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// Proto returns op as the API's Operation, with an OperationMetadata.
func (op Operation) Proto() (*typev1.Operation, error) {
	md := &typev1.OperationMetadata{Method: op.Method, CreateTime: timestamppb.New(op.CreateTime)}
	if op.Done() {
		md.EndTime = timestamppb.New(op.EndTime)
	}
	mdAny, err := anypb.New(md)
	if err != nil {
		return nil, err
	}
	out := &typev1.Operation{Name: op.Name, Metadata: mdAny, Done: op.Done()}
	switch {
	case op.Error != nil:
		out.Result = &typev1.Operation_Error{Error: op.Error}
	case op.Response != nil:
		out.Result = &typev1.Operation_Response{Response: op.Response}
	}
	return out, nil
}

// errNotSetUp answers for a gRPC server built without a runner (tests of
// other calls): its long calls are refused rather than run unanswerable.
var errNotSetUp = status.Error(codes.Unavailable, "long-running operations are not set up")

// StartProto is Start for a gRPC server: it returns the API's Operation.
// r may be nil.
func (r *Runner) StartProto(ctx context.Context, method string, work Work) (*typev1.Operation, error) {
	if r == nil {
		return nil, errNotSetUp
	}
	op, err := r.Start(ctx, method, work)
	if err != nil {
		return nil, err
	}
	return op.Proto()
}

// GetProto is Get for a gRPC server's GetOperation. r may be nil.
func (r *Runner) GetProto(ctx context.Context, name string) (*typev1.Operation, error) {
	if r == nil {
		return nil, errNotSetUp
	}
	op, err := r.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return op.Proto()
}
