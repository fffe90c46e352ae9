package bench

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
)

// benchAuth is the token setup of the services a bench runs: a fresh
// secret for each run.
var benchAuth = sync.OnceValue(func() auth.Config {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return auth.Config{Secret: hex.EncodeToString(b)}
})

// dial connects to a service the bench runs, calling as an admin named
// "bench", as a deployment's clients call with their tokens.
func dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	token, err := auth.Issue(benchAuth(), auth.Identity{Subject: "bench", Roles: []auth.Role{auth.Admin}}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	return grpcclient.Dial(addr, append(opts, grpc.WithPerRPCCredentials(auth.Token(token)))...)
}

// ingestAuthorization is the Authorization header of the bench's events on
// NATS: an integration's token, as a call center's events carry.
var ingestAuthorization = sync.OnceValues(func() (string, error) {
	token, err := auth.Issue(benchAuth(), auth.Identity{Subject: "bench-call-center", Roles: []auth.Role{auth.Integration}}, 24*time.Hour)
	return "Bearer " + token, err
})
