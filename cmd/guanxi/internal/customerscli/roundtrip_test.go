package customerscli_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// startCustomerService runs the real customer service on SQLite and
// returns its address, an admin token and a client calling with it.
func startCustomerService(t *testing.T) (string, string, customerv1.CustomerServiceClient) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := customer.Config{
		GRPCAddr: lis.Addr().String(), Listener: lis,
		DatabaseURL: testinfra.SQLiteURL(t), NATSURL: testinfra.EmbeddedNATS(t),
		Auth: testinfra.AuthConfig(t),
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	testinfra.Background(t, func(ctx context.Context) error { return customer.Run(ctx, cfg, logger) })
	token := testinfra.Token(t, cfg.Auth, auth.Identity{Subject: "tester", Roles: []auth.Role{auth.Admin}})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(auth.Token(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return lis.Addr().String(), token, customerv1.NewCustomerServiceClient(conn)
}

// roundTripCSV has every column the import reads, each value already in
// the form the service stores, so an export must give back the same text.
const roundTripCSV = "external_id,type,kind,lifecycle_stage,display_name,email,phone,other_emails,other_phones,tags,locale,time_zone,birthday,owner_id,team_id,attributes.city,attributes.member,attributes.since,attributes.spend,attributes.tier\n" +
	"CRM-1,PERSON,DISTRIBUTOR,ACTIVE,王小明,xiaoming@example.cn,+8613800138000,xm@example.cn;wang@example.cn,+8613900139000,vip;批发,zh-CN,Asia/Shanghai,1990-05-01,owner-1,team-1,杭州市,true,2020-01-02,1234.5,gold\n" +
	"CRM-2,ORGANIZATION,SUPPLIER,AT_RISK,\"Acme, \"\"the\"\" Trading Co.\",info@acme.example,+8613800138001,,,b2b,en-US,Europe/Berlin,--02-29,owner-2,team-1,Hamburg,false,,-0.25,silver\n" +
	"CRM-3,PERSON,END_CUSTOMER,PROSPECT,欧阳娜娜,,+8613800138002,,,,zh-CN,Asia/Shanghai,,owner-1,,,,,,\n"

func TestRoundTripThroughTheCustomerService(t *testing.T) {
	t.Parallel()
	addr, token, client := startCustomerService(t)
	ctx := context.Background()
	for _, d := range []*customerv1.AttributeDefinition{
		{Name: "city", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING},
		{Name: "member", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_BOOL},
		{Name: "since", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_DATE},
		{Name: "spend", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER},
		{Name: "tier", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM, EnumValues: []string{"gold", "silver"}},
	} {
		if _, err := client.CreateAttributeDefinition(ctx, &customerv1.CreateAttributeDefinitionRequest{AttributeDefinition: d}); err != nil {
			t.Fatalf("declare %s: %v", d.GetName(), err)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(roundTripCSV), 0o600); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := run(t, "import", "-addr", addr, "-token", token, in)
	if err != nil || !strings.Contains(stdout, "created    3") {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}

	outCSV := filepath.Join(dir, "out.csv")
	if _, stderr, err := run(t, "export", "-addr", addr, "-token", token, "-o", outCSV); err != nil {
		t.Fatalf("export csv: %v\n%s", err, stderr)
	}
	got, err := os.ReadFile(outCSV)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(csvLines(roundTripCSV), csvLines(string(got))); d != "" {
		t.Errorf("exported csv differs from the imported one (-imported +exported):\n%s", d)
	}

	// Importing the export again matches every row by external_id and
	// changes nothing, in either format.
	outNDJSON := filepath.Join(dir, "out.ndjson")
	if _, stderr, err := run(t, "export", "-addr", addr, "-token", token, "-o", outNDJSON); err != nil {
		t.Fatalf("export ndjson: %v\n%s", err, stderr)
	}
	for _, file := range []string{outCSV, outNDJSON} {
		stdout, stderr, err := run(t, "import", "-addr", addr, "-token", token, file)
		if err != nil {
			t.Fatalf("import %s: %v\n%s%s", filepath.Base(file), err, stdout, stderr)
		}
		if !strings.Contains(stdout, "unchanged  3") || !strings.Contains(stdout, "created    0") {
			t.Errorf("import %s again: want 3 unchanged rows:\n%s", filepath.Base(file), stdout)
		}
	}
}

// csvLines are a CSV file's header and its rows sorted, as the export
// orders rows by id rather than by file line. Rows here hold no newlines.
func csvLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines[1:])
	return lines
}
