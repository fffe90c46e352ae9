// Package credential is how the CLI's commands say who they call as and
// where the suite is: a bearer token, or an API key traded for one at the
// access service, found through the running `guanxi dev`'s data directory
// unless flags or variables name it.
package credential

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/devendpoints"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
)

// KeyFileName is the file in the data directory where `guanxi dev` keeps
// its bootstrap admin's API key.
const KeyFileName = "admin.key"

// Flags are the credential and location flags of a command.
type Flags struct {
	Token, Key, DataDir string
	// accessFlag is -access-addr as given; AccessAddr resolves it.
	accessFlag string
}

// Register adds -token, -key, -access-addr and -data to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Token, "token", os.Getenv("GUANXI_TOKEN"), "bearer token to call with (default $GUANXI_TOKEN)")
	fs.StringVar(&f.Key, "key", os.Getenv("GUANXI_API_KEY"),
		"API key to call with when no token is given (default $GUANXI_API_KEY, else the key in <data>/"+KeyFileName+")")
	fs.StringVar(&f.accessFlag, "access-addr", "", AddrUsage("access", "where keys are traded for tokens"))
	fs.StringVar(&f.DataDir, "data", devendpoints.DefaultDataDir, "data directory of the guanxi dev to call: its "+devendpoints.FileName+" names the ports, its "+KeyFileName+" the admin key")
}

// AddrUsage is the usage of a flag naming service's gRPC address.
func AddrUsage(service, what string) string {
	return fmt.Sprintf("%s service gRPC address, %s (default $%s, else the running guanxi dev's from <data>/%s, else %s)",
		service, what, devendpoints.EnvVar(service), devendpoints.FileName, devendpoints.DefaultAddrs[service])
}

// AccessAddr is the access service's address and where it came from.
func (f *Flags) AccessAddr() (string, devendpoints.Source) {
	return devendpoints.Addr("access", f.accessFlag, f.DataDir)
}

// Explain adds to an error from service at addr (taken from src) what to
// do when the service is not reachable.
func (f *Flags) Explain(service, addr string, src devendpoints.Source, err error) error {
	if status.Code(err) == codes.Unavailable {
		return fmt.Errorf("%s: %w", devendpoints.Explain(service, addr, src, f.DataDir), err)
	}
	return err
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
		path := filepath.Join(f.DataDir, KeyFileName)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no credential: set -token, -key, GUANXI_TOKEN or GUANXI_API_KEY (guanxi dev keeps an admin key in %s): %w", path, err)
		}
		key = strings.TrimSpace(string(b))
	}
	addr, src := f.AccessAddr()
	conn, err := grpcclient.Dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := accessv1.NewAccessServiceClient(conn).ExchangeApiKey(ctx, &accessv1.ExchangeApiKeyRequest{Key: key})
	if err != nil {
		return nil, fmt.Errorf("trade the API key for a token: %w", f.Explain("access", addr, src, err))
	}
	return grpc.WithPerRPCCredentials(auth.Token(resp.GetToken())), nil
}
