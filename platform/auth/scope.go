package auth

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ReadCustomer reads customer id at the customer service with the context's
// outgoing metadata (the caller's own token) and returns the call's error.
type ReadCustomer = func(ctx context.Context, id string) error

// scopeTTL is how long a customer a caller could read stays known as
// theirs: a transfer away takes at most this long to show in the other
// services.
const scopeTTL = 30 * time.Second

// maxScopeEntries bounds what a service remembers; past it, ended entries
// are dropped and new ones not kept.
const maxScopeEntries = 10000

// CustomerScope keeps agents and managers, who see only the customers they
// or their teams own, to those customers in a service that keeps data by
// customer. Every request of such a caller that names a customer (a
// customer_id field at the top of the request or one message down) is
// first checked by reading the customer at the customer service as the
// caller: a customer they may not see answers NotFound there, and the call
// ends with that NotFound here, before the handler runs. An answer naming
// a customer the same way is checked too, so that a case or a message read
// by its own id is NotFound as well; a handler changing a record by its
// own id calls Check with the record's customer before the change.
type CustomerScope struct {
	read ReadCustomer

	mu   sync.Mutex
	seen map[string]time.Time // subject + "\x00" + customer id -> until
}

// NewCustomerScope returns a scope reading customers with read. Without a
// read (no customer service configured), limited callers are refused
// outright rather than shown every customer.
func NewCustomerScope(read ReadCustomer) *CustomerScope {
	return &CustomerScope{read: read, seen: map[string]time.Time{}}
}

// ServerOptions installs the scope on a gRPC server; it must run after the
// Guard, whose identity it reads.
func (s *CustomerScope) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.unary), grpc.ChainStreamInterceptor(s.stream)}
}

func (s *CustomerScope) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.check(ctx, req); err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, err
	}
	// A read by the record's own id (a case, a message) names its customer
	// only in the answer.
	if err := s.check(ctx, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *CustomerScope) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &scopedStream{ServerStream: ss, scope: s})
}

// scopedStream checks every message a client streams.
type scopedStream struct {
	grpc.ServerStream
	scope *CustomerScope
}

func (s *scopedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.scope.check(s.Context(), m)
}

func (s *CustomerScope) check(ctx context.Context, req any) error {
	msg, ok := req.(proto.Message)
	if !ok || !s.Limits(ctx) {
		// Most callers see every customer: no need to walk the message.
		return nil
	}
	return s.checkIDs(ctx, customerIDs(msg.ProtoReflect()))
}

// Check returns nil when the caller of ctx may see customer, and the
// status to answer with otherwise, for a handler that learns a record's
// customer only by reading the record (a change to a case by the case's
// id). A nil scope lets everything through.
func (s *CustomerScope) Check(ctx context.Context, customer string) error {
	if s == nil || customer == "" {
		return nil
	}
	return s.checkIDs(ctx, []string{customer})
}

// Limits reports whether the caller of ctx is held to their teams'
// customers, so that a handler reads a record's customer only when that
// matters.
func (s *CustomerScope) Limits(ctx context.Context) bool {
	id, ok := FromContext(ctx)
	return s != nil && ok && !id.SeesAll()
}

// checkIDs checks that the caller of ctx may see the customers ids.
func (s *CustomerScope) checkIDs(ctx context.Context, ids []string) error {
	if !s.Limits(ctx) || len(ids) == 0 {
		return nil
	}
	id, _ := FromContext(ctx)
	if s.read == nil {
		return status.Error(codes.PermissionDenied, "this service has no customer service to check a team's customers with")
	}
	for _, customer := range ids {
		if err := s.checkOne(ctx, id.Subject, customer); err != nil {
			return err
		}
	}
	return nil
}

func (s *CustomerScope) checkOne(ctx context.Context, subject, customer string) error {
	key := subject + "\x00" + customer
	now := time.Now()
	s.mu.Lock()
	until, ok := s.seen[key]
	s.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.NewOutgoingContext(ctx, metadata.MD{"authorization": md.Get("authorization")})
	if err := s.read(out, customer); err != nil {
		switch status.Code(err) {
		case codes.NotFound, codes.InvalidArgument:
			return status.Errorf(codes.NotFound, "customer %s not found", customer)
		case codes.PermissionDenied, codes.Unauthenticated:
			return status.Error(status.Code(err), "the customer service refused the caller")
		}
		// Without an answer the call cannot be shown to be in scope.
		return status.Error(codes.Unavailable, "the customer service could not confirm the caller may see the customer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) >= maxScopeEntries {
		for k, u := range s.seen {
			if !now.Before(u) {
				delete(s.seen, k)
			}
		}
	}
	if len(s.seen) < maxScopeEntries {
		s.seen[key] = now.Add(scopeTTL)
	}
	return nil
}

// customerIDs returns the non-empty customer_id fields of m and of the
// messages directly in it.
func customerIDs(m protoreflect.Message) []string {
	var ids []string
	add := func(m protoreflect.Message) {
		if f := m.Descriptor().Fields().ByName("customer_id"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			if v := m.Get(f).String(); v != "" {
				ids = append(ids, v)
			}
		}
	}
	add(m)
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() {
			add(v.Message())
		}
		return true
	})
	return ids
}
