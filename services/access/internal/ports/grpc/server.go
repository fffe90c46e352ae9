// Package grpc serves the access service's gRPC API: it converts between
// proto and domain types and maps domain errors to status codes.
package grpc

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	"github.com/guanxi-crm/guanxi/services/access/internal/app"
	"github.com/guanxi-crm/guanxi/services/access/internal/domain"
	"github.com/guanxi-crm/guanxi/services/access/internal/protoconv"
)

// Paging of ListApiKeys.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// Policy: admins manage keys (and services, always); anyone may trade a
// key, which is its own credential.
var Policy = auth.Policy{
	accessv1.AccessService_CreateApiKey_FullMethodName:   auth.Allow(),
	accessv1.AccessService_ListApiKeys_FullMethodName:    auth.Allow(),
	accessv1.AccessService_RevokeApiKey_FullMethodName:   auth.Allow(),
	accessv1.AccessService_ExchangeApiKey_FullMethodName: auth.Public(),
}

// Server implements accessv1.AccessServiceServer.
type Server struct {
	accessv1.UnimplementedAccessServiceServer
	app *app.Service
}

// NewServer returns a Server running the use cases of a.
func NewServer(a *app.Service) *Server { return &Server{app: a} }

// CreateApiKey implements accessv1.AccessServiceServer.
func (s *Server) CreateApiKey(ctx context.Context, req *accessv1.CreateApiKeyRequest) (*accessv1.CreateApiKeyResponse, error) {
	k := req.GetApiKey()
	if k == nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "api_key", Description: "is required"})
	}
	spec := domain.Spec{Name: k.GetName(), Subject: k.GetSubject(), Roles: k.GetRoles(), Teams: k.GetTeams(), Permissions: k.GetPermissions()}
	if k.GetExpireTime() != nil {
		spec.ExpireTime = k.GetExpireTime().AsTime()
	}
	id, _ := auth.FromContext(ctx)
	created, key, err := s.app.CreateAPIKey(ctx, spec, id.Actor)
	if err != nil {
		return nil, toStatus(err)
	}
	return &accessv1.CreateApiKeyResponse{ApiKey: protoconv.ToProtoAPIKey(created), Key: key}, nil
}

// ListApiKeys implements accessv1.AccessServiceServer.
func (s *Server) ListApiKeys(ctx context.Context, req *accessv1.ListApiKeysRequest) (*accessv1.ListApiKeysResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_size", Description: "is negative"})
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	// The token is bound to show_revoked, so it never continues a list of
	// other keys.
	var offset int
	if _, err := pagetoken.Decode(req, &offset); err != nil || offset < 0 {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this service gave"})
	}
	keys, err := s.app.ListAPIKeys(ctx, req.GetShowRevoked(), size+1, offset)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &accessv1.ListApiKeysResponse{}
	if len(keys) > size {
		keys, resp.NextPageToken = keys[:size], pagetoken.Encode(req, offset+size)
	}
	for _, k := range keys {
		resp.ApiKeys = append(resp.ApiKeys, protoconv.ToProtoAPIKey(k))
	}
	return resp, nil
}

// RevokeApiKey implements accessv1.AccessServiceServer.
func (s *Server) RevokeApiKey(ctx context.Context, req *accessv1.RevokeApiKeyRequest) (*accessv1.RevokeApiKeyResponse, error) {
	if req.GetId() == "" {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "id", Description: "is required"})
	}
	k, err := s.app.RevokeAPIKey(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &accessv1.RevokeApiKeyResponse{ApiKey: protoconv.ToProtoAPIKey(k)}, nil
}

// ExchangeApiKey implements accessv1.AccessServiceServer.
func (s *Server) ExchangeApiKey(ctx context.Context, req *accessv1.ExchangeApiKeyRequest) (*accessv1.ExchangeApiKeyResponse, error) {
	if req.GetKey() == "" {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "key", Description: "is required"})
	}
	token, exp, err := s.app.ExchangeAPIKey(ctx, req.GetKey())
	if err != nil {
		return nil, toStatus(err)
	}
	return &accessv1.ExchangeApiKeyResponse{Token: token, ExpireTime: timestamppb.New(exp)}, nil
}

// toStatus maps the domain's errors to status codes; anything else is left
// to the server's safety net (Internal, detail logged).
func toStatus(err error) error { return rpcerr.Map(err, statusRules...) }

// statusRules are this service's domain errors and the codes clients see.
var statusRules = []rpcerr.Rule{
	rpcerr.Invalid(),
	rpcerr.Is(domain.ErrInvalidKey, codes.Unauthenticated),
	rpcerr.Is(domain.ErrNotFound, codes.NotFound),
	rpcerr.Is(domain.ErrRevoked, codes.FailedPrecondition),
}
