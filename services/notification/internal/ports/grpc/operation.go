package grpc

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/operations"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// WithOperations returns s running its long calls as operations of r
// (AIP-151); without it those calls are refused as UNAVAILABLE.
func (s *Server) WithOperations(r *operations.Runner) *Server {
	s.ops = r
	return s
}

// toProtoOperation converts a stored operation.
func toProtoOperation(op operations.Operation) (*typev1.Operation, error) {
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

// startOperation starts work as an operation of method and returns it.
func (s *Server) startOperation(ctx context.Context, method string, work operations.Work) (*typev1.Operation, error) {
	if s.ops == nil {
		return nil, status.Error(codes.Unavailable, "long-running operations are not set up")
	}
	op, err := s.ops.Start(ctx, method, work)
	if err != nil {
		return nil, err
	}
	return toProtoOperation(op)
}

// getOperation returns the operation named name.
func (s *Server) getOperation(ctx context.Context, name string) (*typev1.Operation, error) {
	if s.ops == nil {
		return nil, status.Error(codes.Unavailable, "long-running operations are not set up")
	}
	op, err := s.ops.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return toProtoOperation(op)
}
