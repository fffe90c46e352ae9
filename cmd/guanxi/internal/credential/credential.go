// Package credential is how the CLI's commands say who they call as: a
// bearer token, or an API key traded for one at the access service.
package credential

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
)

// DefaultKeyFile is where `guanxi dev` keeps its bootstrap admin's API
// key, DefaultAccessAddr its access service.
const (
	DefaultKeyFile    = ".guanxi/admin.key"
	DefaultAccessAddr = "127.0.0.1:7106"
)

// Flags are the credential flags of a command.
type Flags struct {
	Token, Key, AccessAddr string
}

// Register adds -token, -key and -access-addr to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Token, "token", os.Getenv("GUANXI_TOKEN"), "bearer token to call with (default $GUANXI_TOKEN)")
	fs.StringVar(&f.Key, "key", os.Getenv("GUANXI_API_KEY"),
		"API key to call with when no token is given (default $GUANXI_API_KEY, else the key in "+DefaultKeyFile+")")
	fs.StringVar(&f.AccessAddr, "access-addr", DefaultAccessAddr, "access service gRPC address, where keys are traded for tokens")
}

// DialOption returns the per-call credentials of the flags: -token, or a
// token traded for the API key. Whoever the credential names is the
// caller the audit log shows.
func (f *Flags) DialOption(ctx context.Context) (grpc.DialOption, error) {
	if f.Token != "" {
		return grpc.WithPerRPCCredentials(auth.Token(f.Token)), nil
	}
	key := f.Key
	if key == "" {
		b, err := os.ReadFile(DefaultKeyFile)
		if err != nil {
			return nil, fmt.Errorf("no credential: set -token, -key, GUANXI_TOKEN or GUANXI_API_KEY (guanxi dev keeps an admin key in %s): %w", DefaultKeyFile, err)
		}
		key = strings.TrimSpace(string(b))
	}
	conn, err := grpcclient.Dial(f.AccessAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := accessv1.NewAccessServiceClient(conn).ExchangeApiKey(ctx, &accessv1.ExchangeApiKeyRequest{Key: key})
	if err != nil {
		return nil, fmt.Errorf("trade the API key for a token at %s: %w", f.AccessAddr, err)
	}
	return grpc.WithPerRPCCredentials(auth.Token(resp.GetToken())), nil
}
