package grpcserver

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
)

// Text in requests is checked here once for every service, rather than by
// each field's validation: a NUL character (U+0000) is valid UTF-8 and so
// passes protobuf's own check, but PostgreSQL refuses it in text columns
// (a 500 after the work was done) while SQLite stores it, and no name,
// note or id a person types contains one. Invalid UTF-8 never gets this
// far: protobuf refuses it when decoding.

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
// request message req (at any depth, in lists and maps too) that holds a
// NUL character, and nil when none does or req is not a proto message.
func checkText(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	var vs []rpcerr.FieldViolation
	walkText(m.ProtoReflect(), "", func(path string) bool {
		vs = append(vs, rpcerr.FieldViolation{Field: path, Description: "must not contain a NUL character (U+0000)"})
		return len(vs) < maxTextViolations
	})
	if len(vs) == 0 {
		return nil
	}
	return rpcerr.InvalidArgument(vs...)
}

// walkText calls bad with the path of each string in m (prefix names m)
// that holds a NUL, until bad returns false; it reports whether to go on.
// Paths use the proto field names, as field violations do elsewhere:
// "customer.display_name", "lines[2].sku", "attributes[\"city\"]".
func walkText(m protoreflect.Message, prefix string, bad func(string) bool) bool {
	more := true
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := string(f.Name())
		if prefix != "" {
			path = prefix + "." + path
		}
		switch {
		case f.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				at := fmt.Sprintf("%s[%q]", path, k.String())
				if f.MapKey().Kind() == protoreflect.StringKind && hasNUL(k.String()) {
					if more = bad(at); !more {
						return false
					}
				}
				more = walkValue(f.MapValue(), mv, at, bad)
				return more
			})
		case f.IsList():
			l := v.List()
			for i := 0; i < l.Len() && more; i++ {
				more = walkValue(f, l.Get(i), fmt.Sprintf("%s[%d]", path, i), bad)
			}
		default:
			more = walkValue(f, v, path, bad)
		}
		return more
	})
	return more
}

// walkValue checks one value of field f: a string, or a message to walk.
func walkValue(f protoreflect.FieldDescriptor, v protoreflect.Value, path string, bad func(string) bool) bool {
	switch f.Kind() {
	case protoreflect.StringKind:
		if hasNUL(v.String()) {
			return bad(path)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return walkText(v.Message(), path, bad)
	}
	return true
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
