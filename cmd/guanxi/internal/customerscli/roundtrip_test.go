package customerscli_test

import (
	"context"
	"encoding/csv"
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
	"github.com/guanxi-crm/guanxi/platform/servicehost"
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
		DatabaseURL: testinfra.SQLiteURL(t), Broker: servicehost.Broker{NATSURL: testinfra.EmbeddedNATS(t)},
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
// the form the service stores and cells a spreadsheet would take for a
// formula (phones, negative numbers, dates without a year) escaped as the
// export escapes them, so an export must give back the same text.
const roundTripCSV = "external_id,type,kind,lifecycle_stage,display_name,email,phone,other_emails,other_phones,tags,locale,time_zone,birthday,owner_id,team_id,attributes.city,attributes.member,attributes.since,attributes.spend,attributes.tier\n" +
	"CRM-1,PERSON,DISTRIBUTOR,ACTIVE,王小明,xiaoming@example.cn,'+8613800138000,xm@example.cn;wang@example.cn,'+8613900139000,vip;批发,zh-CN,Asia/Shanghai,1990-05-01,owner-1,team-1,杭州市,true,2020-01-02,1234.5,gold\n" +
	"CRM-2,ORGANIZATION,SUPPLIER,AT_RISK,\"Acme, \"\"the\"\" Trading Co.\",info@acme.example,'+8613800138001,,,b2b,en-US,Europe/Berlin,'--02-29,owner-2,team-1,Hamburg,false,,'-0.25,silver\n" +
	"CRM-3,PERSON,END_CUSTOMER,PROSPECT,欧阳娜娜,,'+8613800138002,,,,zh-CN,Asia/Shanghai,,owner-1,,,,,,\n"

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

// TestExportEscapesFormulas: cells a spreadsheet would run as a formula
// (starting with =, +, -, @, tab or carriage return) are exported behind a
// single quote, as OWASP advises, and importing the export changes
// nothing: the import drops the quote again.
func TestExportEscapesFormulas(t *testing.T) {
	t.Parallel()
	addr, token, client := startCustomerService(t)
	ctx := context.Background()
	// The service trims names, so cells starting with a tab or a carriage
	// return are left to importfile's tests.
	names := map[string]string{ // display name -> its exported cell
		`=HYPERLINK("http://evil.example","click")`: `'=HYPERLINK("http://evil.example","click")`,
		"+1+2":                   "'+1+2",
		"-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
		"@SUM(1+1)":              "'@SUM(1+1)",
		"'=quoted already":       "''=quoted already",
		"'t Hooft":               "'t Hooft",
		"王小明":                    "王小明",
	}
	i := 0
	for name := range names {
		i++
		if _, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			DisplayName: name, ExternalId: "F-" + string(rune('A'+i)), Tags: []string{"-tag"}}}); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
	}
	out := filepath.Join(t.TempDir(), "out.csv")
	if _, stderr, err := run(t, "export", "-addr", addr, "-token", token, "-o", out); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := records[0]
	nameCol, tagsCol := slices.Index(header, "display_name"), slices.Index(header, "tags")
	var got []string
	for _, rec := range records[1:] {
		for j, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s: cell %q would run as a formula", header[j], cell)
			}
		}
		got = append(got, rec[nameCol])
		if rec[tagsCol] != "'-tag" {
			t.Errorf("tags cell %q, want '-tag", rec[tagsCol])
		}
	}
	var want []string
	for _, cell := range names {
		want = append(want, cell)
	}
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("exported names (-want +got):\n%s", d)
	}
	stdout, stderr, err := run(t, "import", "-addr", addr, "-token", token, out)
	if err != nil || !strings.Contains(stdout, "unchanged  7") {
		t.Errorf("import of the export: %v, want 7 unchanged rows\n%s%s", err, stdout, stderr)
	}
}
