package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/platform/auth"
)

// AuthConfig is a fresh token setup (a random secret) for a test's
// services and clients.
func AuthConfig(t testing.TB) auth.Config {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return auth.Config{Secret: hex.EncodeToString(b)}
}

// Token is a bearer token of cfg for id, valid for the test's life.
func Token(t testing.TB, cfg auth.Config, id auth.Identity) string {
	t.Helper()
	token, err := auth.Issue(cfg, id, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// CallAs is the dial option of a test client calling as id.
func CallAs(t testing.TB, cfg auth.Config, id auth.Identity) grpc.DialOption {
	t.Helper()
	return grpc.WithPerRPCCredentials(auth.Token(Token(t, cfg, id)))
}

// CallAsService is the dial option of a test client calling as a guanxi
// service: it may call every RPC and names the person it acts for in
// x-guanxi-actor, as the service tests do.
func CallAsService(t testing.TB, cfg auth.Config) grpc.DialOption {
	t.Helper()
	return CallAs(t, cfg, auth.Identity{Subject: "svc:test", Roles: []auth.Role{auth.Service}})
}
