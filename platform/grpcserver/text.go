package grpcserver

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/textguard"
)

// Request text is checked here once for every service, rather than by each
// field's validation (see textguard). Invalid UTF-8 never gets this far:
// protobuf refuses it when decoding.

func (s *Server) unaryText(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := checkText(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamText(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &textCheckedStream{ServerStream: ss})
}

// textCheckedStream checks every message a client streams.
type textCheckedStream struct{ grpc.ServerStream }

func (s *textCheckedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return checkText(m)
}

// maxTextViolations bounds the violations one answer lists.
const maxTextViolations = 10

// checkText returns InvalidArgument naming every string field of the
// request message req that holds a NUL character, and nil when none does
// or req is not a proto message.
func checkText(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	paths := textguard.NULFields(m.ProtoReflect(), maxTextViolations)
	if len(paths) == 0 {
		return nil
	}
	vs := make([]rpcerr.FieldViolation, len(paths))
	for i, p := range paths {
		vs[i] = rpcerr.FieldViolation{Field: p, Description: textguard.Description}
	}
	return rpcerr.InvalidArgument(vs...)
}
