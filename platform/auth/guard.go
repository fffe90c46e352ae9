package auth

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/logging"
)

// Rule says who may call one RPC: a caller holding one of Roles (admins
// and services always may) and, when Permission is set, that permission.
type Rule struct {
	Roles      []Role
	Permission string
	// Public RPCs need no token because their request proves itself, like
	// the signed link of an unsubscribe.
	Public bool
}

// Allow is the rule granting an RPC to roles.
func Allow(roles ...Role) Rule { return Rule{Roles: roles} }

// Public is the rule of an RPC anyone may call.
func Public() Rule { return Rule{Public: true} }

// Needing returns r also requiring permission.
func (r Rule) Needing(permission string) Rule {
	r.Permission = permission
	return r
}

// allows reports whether id may make a call under r.
func (r Rule) allows(id Identity) bool {
	if id.Has(Service) || id.Has(Admin) {
		return true
	}
	if r.Permission != "" && !id.Can(r.Permission) {
		return false
	}
	return slices.ContainsFunc(r.Roles, id.Has)
}

// Policy is a service's rules by full method name
// ("/guanxi.customer.v1.CustomerService/GetCustomer"). A method without a
// rule is refused to everyone but admins and services, so a new RPC is
// closed until someone decides who may call it.
type Policy map[string]Rule

// Missing returns the methods of sd that have no rule, for a test that
// keeps a service's policy complete.
func (p Policy) Missing(sd *grpc.ServiceDesc) []string {
	var missing []string
	check := func(name string) {
		full := "/" + sd.ServiceName + "/" + name
		if _, ok := p[full]; !ok {
			missing = append(missing, full)
		}
	}
	for _, m := range sd.Methods {
		check(m.MethodName)
	}
	for _, s := range sd.Streams {
		check(s.StreamName)
	}
	return missing
}

// Guard is the interceptor pair that authenticates every call and
// authorizes it by a Policy. Health checks and reflection stay open, for
// load balancers and grpcurl.
type Guard struct {
	verifier *Verifier
	policy   Policy
	logger   *slog.Logger
}

// NewGuard returns a guard verifying tokens with v and enforcing p.
func NewGuard(v *Verifier, p Policy, logger *slog.Logger) *Guard {
	return &Guard{verifier: v, policy: p, logger: logger}
}

// ServerOptions installs the guard on a gRPC server.
func (g *Guard) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(g.unary), grpc.ChainStreamInterceptor(g.stream)}
}

func (g *Guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := g.authorize(ctx, info.FullMethod, time.Time{})
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (g *Guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := g.authorize(ss.Context(), info.FullMethod, time.Time{})
	if err != nil {
		return err
	}
	return handler(srv, &identifiedStream{ServerStream: ss, ctx: ctx})
}

type identifiedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identifiedStream) Context() context.Context { return s.ctx }

// open are the services every caller may use without a token.
var open = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// authorize returns ctx carrying the verified caller of a call to method,
// or the Unauthenticated or PermissionDenied status to answer with. The
// token is checked as of at, or now when at is zero.
func (g *Guard) authorize(ctx context.Context, method string, at time.Time) (context.Context, error) {
	for _, prefix := range open {
		if strings.HasPrefix(method, prefix) {
			return ctx, nil
		}
	}
	rule, ruled := g.policy[method]
	if ruled && rule.Public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return nil, status.Error(codes.Unauthenticated, "a bearer token is required (authorization metadata)")
	}
	token, ok := BearerToken(values[0])
	if !ok || len(values) > 1 {
		return nil, status.Error(codes.Unauthenticated, "authorization must be one bearer token")
	}
	verify := g.verifier.Verify
	if !at.IsZero() {
		verify = func(token string) (Identity, error) { return g.verifier.VerifyAt(token, at) }
	}
	id, err := verify(token)
	if err != nil {
		// The reason goes to the log, not the caller; the token is never
		// logged.
		g.logger.InfoContext(ctx, "call refused: bad bearer token", slog.String("method", method), slog.String("reason", err.Error()))
		return nil, status.Error(codes.Unauthenticated, "a valid bearer token is required")
	}
	logging.NoteSubject(ctx, id.Subject) // for the request's log line
	if id.Has(Service) {
		// A service calls for the person it names, or for nobody: its own
		// account never owns customers or signs audit entries.
		id.Actor, id.Via = "", id.Subject
		if actor := md.Get(ActorMetadata); len(actor) > 0 {
			id.Actor = strings.TrimSpace(actor[0])
		}
	}
	if !rule.allows(id) {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not call %s", roleList(id.Roles), method)
	}
	return NewContext(ctx, id), nil
}

// Authorize applies the guard to a request that did not come over gRPC but
// stands for a call of method, such as an event published on NATS for an
// RPC's use case: authorization is its Authorization value ("Bearer
// <token>"), and the same checks and policy decide as for the call itself.
// It returns the caller, or the Unauthenticated or PermissionDenied status
// saying why not (never why a token is bad: that is logged). Unlike a
// call, a message always needs a caller, even for a public or open method.
// The token is checked as of at, when the request was made (a message's
// time in its stream): a message stored while its publisher's token was
// valid is handled whenever it is read, even after the token ended.
func (g *Guard) Authorize(ctx context.Context, method, authorization string, at time.Time) (Identity, error) {
	md := metadata.MD{}
	if authorization != "" {
		md.Set("authorization", authorization)
	}
	ctx, err := g.authorize(metadata.NewIncomingContext(ctx, md), method, at)
	if err != nil {
		return Identity{}, err
	}
	id, ok := FromContext(ctx)
	if !ok {
		return Identity{}, status.Error(codes.Unauthenticated, "a bearer token is required")
	}
	return id, nil
}

func roleList(roles []Role) string {
	if len(roles) == 0 {
		return "a caller without a role"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return "role " + strings.Join(names, ", ")
}
