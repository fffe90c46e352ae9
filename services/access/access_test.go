package access_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/sqldb/sqltest"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	"github.com/guanxi-crm/guanxi/services/access"
)

// start runs the service on dbURL and returns a client calling as id.
func start(t *testing.T, dbURL string) (cfg access.Config, as func(auth.Identity) accessv1.AccessServiceClient) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg = access.Config{DatabaseURL: dbURL, Listener: lis, TokenTTL: 5 * time.Minute, Auth: testkit.AuthConfig(t)}
	testkit.Background(t, func(ctx context.Context) error { return access.Run(ctx, cfg, slog.New(slog.DiscardHandler)) })
	return cfg, func(id auth.Identity) accessv1.AccessServiceClient {
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if id.Subject != "" {
			opts = append(opts, testkit.CallAs(t, cfg.Auth, id))
		}
		conn, err := grpc.NewClient(lis.Addr().String(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return accessv1.NewAccessServiceClient(conn)
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestAPIKeys: an admin makes a key, sees it listed without its secret,
// and the key trades for a token of its identity until it is revoked or
// expires; a wrong or unknown key, and a non-admin managing keys, are
// refused.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	for _, d := range sqltest.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			cfg, as := start(t, d.URL)
			admin := as(auth.Identity{Subject: "root", Roles: []auth.Role{auth.Admin}})
			anyone := as(auth.Identity{})

			created, err := admin.CreateApiKey(ctx(t), &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
				Name: "hotline 400-820", Subject: "hotline", Roles: []string{"integration"}, Teams: []string{"north"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			key := created.GetKey()
			if !strings.HasPrefix(key, "gxk_"+created.GetApiKey().GetId()+"_") || created.GetApiKey().GetCreator() != "root" {
				t.Fatalf("created %v, key %q", created.GetApiKey(), key)
			}

			listed, err := admin.ListApiKeys(ctx(t), &accessv1.ListApiKeysRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed.GetApiKeys()) != 1 || strings.Contains(listed.String(), key[len(key)-20:]) {
				t.Fatalf("listed %v: want the one key, without its secret", listed)
			}

			exchanged, err := anyone.ExchangeApiKey(ctx(t), &accessv1.ExchangeApiKeyRequest{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			v, err := auth.NewVerifier(cfg.Auth)
			if err != nil {
				t.Fatal(err)
			}
			id, err := v.Verify(exchanged.GetToken())
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "hotline" || !id.Has(auth.Integration) || !slices.Equal(id.Teams, []string{"north"}) {
				t.Errorf("token identity %+v", id)
			}
			if left := time.Until(exchanged.GetExpireTime().AsTime()); left <= 4*time.Minute || left > 5*time.Minute {
				t.Errorf("token lives %s, want the 5m TTL", left)
			}

			for _, bad := range []string{key + "x", "gxk_nope_secret", "not a key", strings.Replace(key, "gxk_", "gxk_0", 1)} {
				_, err := anyone.ExchangeApiKey(ctx(t), &accessv1.ExchangeApiKeyRequest{Key: bad})
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("exchange %q: %v, want Unauthenticated", bad, err)
				}
			}

			agent := as(auth.Identity{Subject: "a1", Roles: []auth.Role{auth.Agent}})
			_, err = agent.CreateApiKey(ctx(t), &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{Name: "x", Subject: "a1", Roles: []string{"admin"}}})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("an agent making a key: %v, want PermissionDenied", err)
			}
			if _, err := anyone.ListApiKeys(ctx(t), &accessv1.ListApiKeysRequest{}); status.Code(err) != codes.Unauthenticated {
				t.Errorf("listing keys without a token: %v, want Unauthenticated", err)
			}

			_, err = admin.CreateApiKey(ctx(t), &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
				Name: "x", Subject: "", Roles: []string{"integration", "service"},
			}})
			fields := map[string]bool{}
			for _, f := range rpcerr.Violations(err) {
				fields[f.Field] = true
			}
			if !fields["api_key.subject"] || !fields["api_key.roles[1]"] {
				t.Errorf("bad key: %v, want violations on api_key.subject and api_key.roles[1] (services' role is not for keys)", err)
			}

			if _, err := admin.RevokeApiKey(ctx(t), &accessv1.RevokeApiKeyRequest{Id: created.GetApiKey().GetId()}); err != nil {
				t.Fatal(err)
			}
			if _, err := anyone.ExchangeApiKey(ctx(t), &accessv1.ExchangeApiKeyRequest{Key: key}); status.Code(err) != codes.Unauthenticated {
				t.Errorf("exchange of a revoked key: %v, want Unauthenticated", err)
			}
			if _, err := admin.RevokeApiKey(ctx(t), &accessv1.RevokeApiKeyRequest{Id: created.GetApiKey().GetId()}); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("revoking twice: %v, want FailedPrecondition", err)
			}
			if listed, _ := admin.ListApiKeys(ctx(t), &accessv1.ListApiKeysRequest{}); len(listed.GetApiKeys()) != 0 {
				t.Errorf("a revoked key is listed without show_revoked: %v", listed)
			}

			soon, err := admin.CreateApiKey(ctx(t), &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
				Name: "short", Subject: "temp", Roles: []string{"analyst"}, ExpireTime: timestamppb.New(time.Now().Add(time.Second)),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if ex, err := anyone.ExchangeApiKey(ctx(t), &accessv1.ExchangeApiKeyRequest{Key: soon.GetKey()}); err != nil || ex.GetExpireTime().AsTime().After(time.Now().Add(time.Second)) {
				t.Errorf("a key expiring in 1s traded for %v, %v: want a token ending with the key", ex, err)
			}
			testkit.Eventually(t, 5*time.Second, "the expired key refused", func() bool {
				_, err := anyone.ExchangeApiKey(ctx(t), &accessv1.ExchangeApiKeyRequest{Key: soon.GetKey()})
				return status.Code(err) == codes.Unauthenticated
			})
		})
	}
}
