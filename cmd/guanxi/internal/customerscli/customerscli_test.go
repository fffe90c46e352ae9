package customerscli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/customerscli"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// fakeService records what the CLI sends and answers as told.
type fakeService struct {
	customerv1.UnimplementedCustomerServiceServer

	mu        sync.Mutex
	messages  []*customerv1.ImportCustomersRequest
	data      bytes.Buffer
	actors    []string
	exportReq *customerv1.ExportCustomersRequest

	importResp *customerv1.ImportCustomersResponse
	importErr  error
	// refuseFirst fails the import on its first message, as the service
	// does with a bad CSV header, while the client is still sending.
	refuseFirst bool
	batches     [][]*customerv1.Customer
	exportErr   error // sent after the batches
	defs        []*customerv1.AttributeDefinition
}

func (f *fakeService) recordActor(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.actors = append(f.actors, md.Get("authorization")...)
}

func (f *fakeService) ImportCustomers(stream grpc.ClientStreamingServer[customerv1.ImportCustomersRequest, customerv1.ImportCustomersResponse]) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordActor(stream.Context())
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		f.messages = append(f.messages, msg)
		f.data.Write(msg.GetData())
		if f.refuseFirst {
			return f.importErr
		}
	}
	if f.importErr != nil {
		return f.importErr
	}
	return stream.SendAndClose(f.importResp)
}

func (f *fakeService) ExportCustomers(req *customerv1.ExportCustomersRequest, stream grpc.ServerStreamingServer[customerv1.ExportCustomersResponse]) error {
	f.mu.Lock()
	f.recordActor(stream.Context())
	f.exportReq = req
	f.mu.Unlock()
	for _, b := range f.batches {
		if err := stream.Send(&customerv1.ExportCustomersResponse{Customers: b}); err != nil {
			return err
		}
	}
	return f.exportErr
}

func (f *fakeService) ListAttributeDefinitions(ctx context.Context, _ *customerv1.ListAttributeDefinitionsRequest) (*customerv1.ListAttributeDefinitionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordActor(ctx)
	return &customerv1.ListAttributeDefinitionsResponse{AttributeDefinitions: f.defs}, nil
}

// serve runs f on a loopback listener and returns its address.
func serve(t *testing.T, f *fakeService) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// run runs the CLI with args; a subcommand without -token gets one, as
// from GUANXI_TOKEN.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if len(args) > 0 && !slices.Contains(args, "-token") {
		args = append([]string{args[0], "-token", "test-token"}, args[1:]...)
	}
	var out, errOut bytes.Buffer
	err = customerscli.Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bigCSV is a CSV file of a little over two and a half chunks.
func bigCSV() string {
	var b strings.Builder
	b.WriteString("external_id,display_name,phone\n")
	for i := 0; b.Len() < 2*customerscli.DefaultChunkSize+100_000; i++ {
		fmt.Fprintf(&b, "x-%d,客户 %d,+86138%08d\n", i, i, i)
	}
	return b.String()
}

func TestImportSendsTheFileInChunks(t *testing.T) {
	t.Parallel()
	f := &fakeService{importResp: &customerv1.ImportCustomersResponse{RowCount: 9000, CreatedCount: 8000, UpdatedCount: 600, UnchangedCount: 400}}
	addr := serve(t, f)
	content := bigCSV()
	path := writeFile(t, "people.csv", content)

	stdout, stderr, err := run(t, "import", "-addr", addr, "-token", "mei", path)
	if err != nil {
		t.Fatalf("import: %v\nstderr: %s", err, stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data.String() != content {
		t.Errorf("the service received %d bytes that differ from the file's %d", f.data.Len(), len(content))
	}
	var sizes []int
	for _, m := range f.messages {
		sizes = append(sizes, len(m.GetData()))
	}
	want := []int{customerscli.DefaultChunkSize, customerscli.DefaultChunkSize, len(content) - 2*customerscli.DefaultChunkSize}
	if d := cmp.Diff(want, sizes); d != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", d)
	}
	if got := f.messages[0].GetFormat(); got != customerv1.ImportFormat_IMPORT_FORMAT_CSV {
		t.Errorf("first message format = %v, want CSV", got)
	}
	for i, m := range f.messages[1:] {
		if m.GetFormat() != customerv1.ImportFormat_IMPORT_FORMAT_UNSPECIFIED || m.GetAllowDuplicates() {
			t.Errorf("message %d repeats the first message's options: %v", i+1, m)
		}
	}
	if d := cmp.Diff([]string{"Bearer mei"}, f.actors); d != "" {
		t.Errorf("actors (-want +got):\n%s", d)
	}
	for _, line := range []string{"rows       9000", "created    8000", "updated    600", "unchanged  400", "failed     0", "rows/s", "elapsed"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("summary lacks %q:\n%s", line, stdout)
		}
	}
	if strings.Contains(stdout, "Refused rows") {
		t.Errorf("summary lists refused rows when there are none:\n%s", stdout)
	}
}

func TestImportFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string
		flags    []string
		after    []string // flags after FILE
		want     customerv1.ImportFormat
		allowDup bool
		wantErr  string
	}{
		{name: "csv", file: "a.csv", want: customerv1.ImportFormat_IMPORT_FORMAT_CSV},
		{name: "upper-case extension", file: "A.CSV", want: customerv1.ImportFormat_IMPORT_FORMAT_CSV},
		{name: "ndjson", file: "a.ndjson", want: customerv1.ImportFormat_IMPORT_FORMAT_NDJSON},
		{name: "jsonl", file: "a.jsonl", want: customerv1.ImportFormat_IMPORT_FORMAT_NDJSON},
		{name: "flag wins", file: "a.csv", flags: []string{"-format", "ndjson"}, want: customerv1.ImportFormat_IMPORT_FORMAT_NDJSON},
		{name: "flags after the file", file: "export.txt", after: []string{"-format", "csv", "-allow-duplicates"}, want: customerv1.ImportFormat_IMPORT_FORMAT_CSV, allowDup: true},
		{name: "unknown extension", file: "a.txt", wantErr: "give -format"},
		{name: "bad format", file: "a.csv", flags: []string{"-format", "xlsx"}, wantErr: `unknown format "xlsx"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeService{importResp: &customerv1.ImportCustomersResponse{}}
			addr := serve(t, f)
			path := writeFile(t, tt.file, "display_name\nAda\n")
			args := append([]string{"import", "-addr", addr}, tt.flags...)
			args = append(append(args, path), tt.after...)
			_, _, err := run(t, args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.messages) != 1 {
				t.Fatalf("got %d messages, want 1", len(f.messages))
			}
			if got := f.messages[0]; got.GetFormat() != tt.want || got.GetAllowDuplicates() != tt.allowDup {
				t.Errorf("first message: format %v allow_duplicates %v, want %v %v", got.GetFormat(), got.GetAllowDuplicates(), tt.want, tt.allowDup)
			}
		})
	}
}

func TestImportEmptyFileStillNamesTheFormat(t *testing.T) {
	t.Parallel()
	f := &fakeService{importResp: &customerv1.ImportCustomersResponse{}}
	addr := serve(t, f)
	if _, _, err := run(t, "import", "-addr", addr, writeFile(t, "empty.ndjson", "")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.messages) != 1 || f.messages[0].GetFormat() != customerv1.ImportFormat_IMPORT_FORMAT_NDJSON || len(f.messages[0].GetData()) != 0 {
		t.Errorf("messages = %v, want one empty NDJSON message", f.messages)
	}
}

func TestImportListsRefusedRows(t *testing.T) {
	t.Parallel()
	resp := &customerv1.ImportCustomersResponse{RowCount: 100, CreatedCount: 70, FailedCount: 30}
	for i := range 25 {
		e := &customerv1.ImportError{Line: int64(i + 2), Field: "email", Reason: "is not a valid email address"}
		if i == 0 {
			e = &customerv1.ImportError{Line: 2, Reason: "bad quoting"}
		}
		resp.Errors = append(resp.Errors, e)
	}
	f := &fakeService{importResp: resp}
	addr := serve(t, f)
	path := writeFile(t, "a.csv", "display_name\n")
	errorsPath := filepath.Join(t.TempDir(), "errors.txt")

	stdout, _, err := run(t, "import", "-addr", addr, path)
	if err == nil || !strings.Contains(err.Error(), "30 of 100 rows were refused") {
		t.Errorf("err = %v, want the refused rows counted", err)
	}
	if !strings.Contains(stdout, "  line 2: bad quoting\n") || !strings.Contains(stdout, "  line 21: email: is not a valid email address\n") {
		t.Errorf("summary lacks the first rows:\n%s", stdout)
	}
	if strings.Contains(stdout, "line 22:") {
		t.Errorf("summary shows more than 20 rows:\n%s", stdout)
	}
	if !strings.Contains(stdout, "... and 10 more; -errors FILE writes them all") {
		t.Errorf("summary does not say how many more:\n%s", stdout)
	}

	stdout, _, _ = run(t, "import", "-addr", addr, "-errors", errorsPath, path)
	if !strings.Contains(stdout, "... and 10 more, in "+errorsPath) {
		t.Errorf("summary does not point to the errors file:\n%s", stdout)
	}
	written, err := os.ReadFile(errorsPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(written), "\n"), "\n")
	if len(lines) != 26 || lines[0] != "line 2: bad quoting" || lines[24] != "line 26: email: is not a valid email address" ||
		lines[25] != "(5 more refused rows; the service lists the first 25)" {
		t.Errorf("errors file:\n%s", written)
	}
}

func TestImportServiceError(t *testing.T) {
	t.Parallel()
	for _, refuseFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("refuse first message %v", refuseFirst), func(t *testing.T) {
			t.Parallel()
			f := &fakeService{importErr: status.Error(codes.InvalidArgument, "csv header: column \"nickname\": unknown column"), refuseFirst: refuseFirst}
			addr := serve(t, f)
			_, _, err := run(t, "import", "-addr", addr, writeFile(t, "a.csv", bigCSV()))
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "nickname") {
				t.Errorf("err = %v, want the service's InvalidArgument", err)
			}
		})
	}
}

func TestImportUnreachableService(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	_, _, err = run(t, "import", "-addr", addr, writeFile(t, "a.csv", "display_name\n"))
	if err == nil || !strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v, want it to name the unreachable address", err)
	}
}

func TestImportArguments(t *testing.T) {
	t.Parallel()
	if _, _, err := run(t, "import"); err == nil || !strings.Contains(err.Error(), "exactly one FILE") {
		t.Errorf("no file: err = %v", err)
	}
	if _, _, err := run(t, "import", "a.csv", "b.csv"); err == nil || !strings.Contains(err.Error(), "exactly one FILE") {
		t.Errorf("two files: err = %v", err)
	}
	if _, _, err := run(t, "import", filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, _, err := run(t, "frobnicate"); err == nil {
		t.Error("unknown subcommand: no error")
	}
	if _, _, err := run(t); err == nil {
		t.Error("no subcommand: no error")
	}
}

// exportCustomers are what the fake exports: every CSV column, CJK text,
// characters CSV must quote, and every attribute type.
func exportCustomers() [][]*customerv1.Customer {
	return [][]*customerv1.Customer{
		{
			{
				Id: "0190a0e0-0000-7000-8000-000000000001", ExternalId: "CRM-1", Type: customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
				Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR, LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK,
				DisplayName: "王小明", Email: "xiaoming@example.cn", Phone: "+8613800138000",
				OtherEmails: []string{"a@example.cn", "b@example.cn"}, OtherPhones: []string{"+8613900139000"},
				Tags: []string{"vip", "批发"}, Locale: "zh-CN", TimeZone: "Asia/Shanghai",
				Birthday: &date.Date{Year: 1990, Month: 5, Day: 1}, OwnerId: "u-1", TeamId: "t-1",
				Attributes: map[string]*customerv1.AttributeValue{
					"city":  {Value: &customerv1.AttributeValue_StringValue{StringValue: "杭州市"}},
					"spend": {Value: &customerv1.AttributeValue_NumberValue{NumberValue: 1234.5}},
					"vip":   {Value: &customerv1.AttributeValue_BoolValue{BoolValue: true}},
					"since": {Value: &customerv1.AttributeValue_DateValue{DateValue: &date.Date{Year: 2020, Month: 1, Day: 2}}},
					"tier":  {Value: &customerv1.AttributeValue_EnumValue{EnumValue: "gold"}},
				},
			},
		},
		{
			{Id: "0190a0e0-0000-7000-8000-000000000002", DisplayName: "Acme, \"the\" company\nHQ", Birthday: &date.Date{Month: 2, Day: 29},
				Attributes: map[string]*customerv1.AttributeValue{"spend": {Value: &customerv1.AttributeValue_NumberValue{NumberValue: -0.25}}}},
			{Id: "0190a0e0-0000-7000-8000-000000000003", DisplayName: "Ada Lovelace", Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION},
		},
		{},
	}
}

func exportDefs() []*customerv1.AttributeDefinition {
	return []*customerv1.AttributeDefinition{
		{Name: "vip", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_BOOL},
		{Name: "city", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING},
		{Name: "since", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_DATE},
		{Name: "spend", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER},
		{Name: "tier", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM},
	}
}

func TestExportNDJSON(t *testing.T) {
	t.Parallel()
	f := &fakeService{batches: exportCustomers()}
	addr := serve(t, f)
	out := filepath.Join(t.TempDir(), "customers.ndjson")

	_, stderr, err := run(t, "export", "-addr", addr, "-token", "auditor-1", "-filter", `kind = "DISTRIBUTOR"`, "-query", "小明", "-o", out)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "Exported 3 customers to "+out) {
		t.Errorf("summary: %s", stderr)
	}
	f.mu.Lock()
	if f.exportReq.GetFilter() != `kind = "DISTRIBUTOR"` || f.exportReq.GetQuery() != "小明" {
		t.Errorf("request = %v", f.exportReq)
	}
	if d := cmp.Diff([]string{"Bearer auditor-1"}, f.actors); d != "" {
		t.Errorf("actors (-want +got):\n%s", d)
	}
	f.mu.Unlock()

	file, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var got []*customerv1.Customer
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		c := &customerv1.Customer{}
		if err := protojson.Unmarshal(sc.Bytes(), c); err != nil {
			t.Fatalf("line %d: %v", len(got)+1, err)
		}
		got = append(got, c)
	}
	var want []*customerv1.Customer
	for _, b := range exportCustomers() {
		want = append(want, b...)
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("exported customers (-want +got):\n%s", d)
	}
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	f := &fakeService{batches: exportCustomers(), defs: exportDefs()}
	addr := serve(t, f)
	// The format follows -o's extension. Cells a spreadsheet would take for
	// a formula (+86..., -0.25, --02-29) are escaped with a quote.
	out := filepath.Join(t.TempDir(), "customers.csv")
	if _, stderr, err := run(t, "export", "-addr", addr, "-o", out); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "external_id,type,kind,lifecycle_stage,display_name,email,phone,other_emails,other_phones,tags,locale,time_zone,birthday,owner_id,team_id,attributes.city,attributes.since,attributes.spend,attributes.tier,attributes.vip\n" +
		"CRM-1,PERSON,DISTRIBUTOR,AT_RISK,王小明,xiaoming@example.cn,'+8613800138000,a@example.cn;b@example.cn,'+8613900139000,vip;批发,zh-CN,Asia/Shanghai,1990-05-01,u-1,t-1,杭州市,2020-01-02,1234.5,gold,true\n" +
		",,,,\"Acme, \"\"the\"\" company\nHQ\",,,,,,,,'--02-29,,,,,'-0.25,,\n" +
		",ORGANIZATION,,,Ada Lovelace,,,,,,,,,,,,,,,\n"
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("csv (-want +got):\n%s", d)
	}
}

func TestExportCSVWarnsOfUndeclaredAttributes(t *testing.T) {
	t.Parallel()
	f := &fakeService{batches: exportCustomers(), defs: exportDefs()[:2]}
	addr := serve(t, f)
	var stdout, stderr bytes.Buffer
	err := customerscli.Run(context.Background(), []string{"export", "-addr", addr, "-token", "t", "-format", "csv"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), `warning: 2 values of attribute "spend" are not in the file`) {
		t.Errorf("stderr lacks the warning:\n%s", stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "external_id,") || strings.Count(stdout.String(), "\n") != 5 {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

func TestExportFailureLeavesNoFile(t *testing.T) {
	t.Parallel()
	f := &fakeService{batches: exportCustomers(), exportErr: status.Error(codes.PermissionDenied, "agents may not export")}
	addr := serve(t, f)
	dir := t.TempDir()
	_, _, err := run(t, "export", "-addr", addr, "-o", filepath.Join(dir, "out.ndjson"))
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("err = %v, want PermissionDenied", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the failed export left %v behind", entries)
	}
}

func TestExportArguments(t *testing.T) {
	t.Parallel()
	if _, _, err := run(t, "export", "out.csv"); err == nil || !strings.Contains(err.Error(), "-o FILE") {
		t.Errorf("positional output: err = %v", err)
	}
	if _, _, err := run(t, "export", "-format", "xml"); err == nil {
		t.Error("bad format: no error")
	}
}
