// Package keyscli is `guanxi keys`: making, listing and revoking the API
// keys of the access service.
package keyscli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/credential"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
)

const usage = `Usage:
  guanxi keys create -name NAME -subject WHO -roles ROLE[,ROLE] [-teams T,..] [-permissions P,..] [-expires DURATION]
  guanxi keys list [-all]
  guanxi keys revoke ID

Every subcommand takes -token, -key, -access-addr and -data: keys are managed by an admin.
The access service is found as -access-addr, $GUANXI_ACCESS_ADDR or the running guanxi dev's
<data>/endpoints.json say, in that order.
`

// Run runs `guanxi keys` with args after "keys".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("keys: no subcommand given")
	}
	fs := flag.NewFlagSet("guanxi keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var as credential.Flags
	as.Register(fs)
	switch args[0] {
	case "create":
		name := fs.String("name", "", "what the key is for (required)")
		subject := fs.String("subject", "", "whom calls with the key are made as (required)")
		roles := fs.String("roles", "", "comma-separated roles: admin, manager, agent, integration, auditor, analyst")
		teams := fs.String("teams", "", "comma-separated teams whose customers the key sees")
		perms := fs.String("permissions", "", `comma-separated permissions ("export")`)
		expires := fs.Duration("expires", 0, "how long the key works (0: until revoked)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		k := &accessv1.ApiKey{Name: *name, Subject: *subject, Roles: list(*roles), Teams: list(*teams), Permissions: list(*perms)}
		if *expires > 0 {
			k.ExpireTime = timestamppb.New(time.Now().Add(*expires))
		}
		return call(ctx, as, func(ctx context.Context, c accessv1.AccessServiceClient) error {
			resp, err := c.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: k})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", resp.GetKey())
			fmt.Fprintf(stderr, "Key %s made for %s. It is shown this once: guanxi keeps only its hash.\n", resp.GetApiKey().GetId(), resp.GetApiKey().GetSubject())
			return nil
		})
	case "list":
		all := fs.Bool("all", false, "include revoked keys")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return call(ctx, as, func(ctx context.Context, c accessv1.AccessServiceClient) error {
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tSUBJECT\tROLES\tTEAMS\tCREATED\tEXPIRES\tREVOKED")
			req := &accessv1.ListApiKeysRequest{ShowRevoked: *all, PageSize: 1000}
			for {
				resp, err := c.ListApiKeys(ctx, req)
				if err != nil {
					return err
				}
				for _, k := range resp.GetApiKeys() {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.GetId(), k.GetName(), k.GetSubject(),
						strings.Join(k.GetRoles(), ","), strings.Join(k.GetTeams(), ","),
						when(k.GetCreateTime()), when(k.GetExpireTime()), when(k.GetRevokeTime()))
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					return w.Flush()
				}
			}
		})
	case "revoke":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("keys revoke: give exactly one key ID")
		}
		return call(ctx, as, func(ctx context.Context, c accessv1.AccessServiceClient) error {
			resp, err := c.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{Id: fs.Arg(0)})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Key %s (%s) revoked.\n", resp.GetApiKey().GetId(), resp.GetApiKey().GetName())
			return nil
		})
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("keys: unknown subcommand %q", args[0])
	}
}

// call runs fn with a client of the access service calling as as says.
func call(ctx context.Context, as credential.Flags, fn func(context.Context, accessv1.AccessServiceClient) error) error {
	opt, err := as.DialOption(ctx)
	if err != nil {
		return err
	}
	addr, src := as.AccessAddr()
	conn, err := grpcclient.Dial(addr, opt)
	if err != nil {
		return err
	}
	defer conn.Close()
	return as.Explain("access", addr, src, fn(ctx, accessv1.NewAccessServiceClient(conn)))
}

// list splits a comma-separated flag, dropping empty items.
func list(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().Local().Format("2006-01-02 15:04")
}
