package suite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// serviceAddr returns the gRPC address of a service of the suite.
func serviceAddr(t *testing.T, e suite.Endpoints, name string) string {
	t.Helper()
	for _, s := range e.Services {
		if s.Name == name {
			return s.Addr
		}
	}
	t.Fatalf("no %s service in %v", name, e.Services)
	return ""
}

// restPurchase is the body of POST /v1/interactions for a purchase.
func restPurchase(customerID string, minor int64, at time.Time) string {
	return fmt.Sprintf(`{"customerId":%q,"kind":"INTERACTION_KIND_PURCHASE","occurTime":%q,"purchase":{"total":{"currencyCode":"CNY","amountMinor":"%d"}}}`,
		customerID, at.UTC().Format(time.RFC3339), minor)
}

// TestSegmentGainsCustomerWithinTwoSeconds is the acceptance
// check: a segment `abc_class = "A" AND p_alive < 0.5` gains a customer
// within 2 seconds of the purchase events that put them there, all through
// the REST edge: a population with buyers who stopped (so the model sees
// dropout), a fit, the segment, then a big buyer's history recorded.
func TestSegmentGainsCustomerWithinTwoSeconds(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)
	now := time.Now().UTC()
	day := 24 * time.Hour
	newCustomer := func(name string) string {
		return api.mustDo("POST", "/v1/customers", fmt.Sprintf(`{"displayName":%q}`, name))["id"].(string)
	}
	var last string
	for i := range 15 {
		id := newCustomer(fmt.Sprintf("买家 %d", i))
		switch i % 3 {
		case 0: // weekly, still buying
			for w := range 12 {
				api.mustDo("POST", "/v1/interactions", restPurchase(id, 10000, now.Add(-time.Duration(w*7+1)*day)))
			}
		case 1: // weekly for three months, small, silent for half a year
			for w := range 12 {
				api.mustDo("POST", "/v1/interactions", restPurchase(id, 2000, now.Add(-time.Duration(w*7+180)*day)))
			}
		default: // once
			api.mustDo("POST", "/v1/interactions", restPurchase(id, 5000, now.Add(-time.Duration(30*i)*day)))
		}
		last = id
	}
	testinfra.Eventually(t, 30*time.Second, "the population's purchases", func() bool {
		code, v := api.do("GET", "/v1/customers/"+last+"/value", "")
		return code == http.StatusOK && v["purchaseCount"] == "1"
	})
	fit := api.awaitOperation(api.mustDo("POST", "/v1/modelFit:refit", `{}`))
	t.Logf("fit on the population: %v", fit)
	seg := api.mustDo("POST", "/v1/segments", `{"name":"vip_slipping_away","filter":"abc_class = \"A\" AND p_alive < 0.5"}`)
	segID := seg["id"].(string)

	// A customer whose weekly purchases stopped eight months ago, small
	// but for the last one recorded (the big order of a year ago): that one
	// makes them A by trailing spend, and they are very likely gone.
	big := newCustomer("大客户 王总")
	for w := range 9 {
		api.mustDo("POST", "/v1/interactions", restPurchase(big, 1000, now.Add(-time.Duration(w*7+240)*day)))
	}
	testinfra.Eventually(t, 10*time.Second, "the small purchases", func() bool {
		code, v := api.do("GET", "/v1/customers/"+big+"/value", "")
		return code == http.StatusOK && v["purchaseCount"] == "9"
	})
	if out := api.mustDo("GET", "/v1/segments/"+segID+"/members/"+big, ""); out["member"] == true {
		t.Fatal("the buyer of small orders is already in the segment")
	}
	api.mustDo("POST", "/v1/interactions", restPurchase(big, 5_000_000, now.Add(-300*day)))
	recorded := time.Now()
	testinfra.Eventually(t, 2*time.Second-time.Since(recorded), "the big buyer in vip_slipping_away", func() bool {
		out := api.mustDo("GET", "/v1/segments/"+segID+"/members/"+big, "")
		return out["member"] == true
	})
	t.Logf("member %s after the last purchase was recorded", time.Since(recorded).Round(time.Millisecond))
	v := api.mustDo("GET", "/v1/customers/"+big+"/value", "")
	pred, _ := v["prediction"].(map[string]any)
	if v["abcClass"] != "ABC_CLASS_A" || pred == nil || !(pred["pAlive"].(float64) < 0.5) {
		t.Errorf("the big buyer's value: %v", v)
	}
	members, _ := api.mustDo("GET", "/v1/segments/"+segID+"/members", "")["customerIds"].([]any)
	if len(members) != 1 || members[0] != big {
		t.Errorf("members = %v, want only the big buyer", members)
	}
}

// cdnowRow is one line of CDNOW_sample.txt.
type cdnowRow struct {
	line     int
	customer string
	at       time.Time
	cds      int64
	cents    int64
}

// loadCDNOW reads ../shared/data/cdnow/CDNOW_sample.txt from the
// repository root (the data is never copied into the repository).
func loadCDNOW(t *testing.T) []cdnowRow {
	t.Helper()
	dir := os.Getenv("GUANXI_CDNOW_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
				dir = filepath.Join(d, "..", "shared", "data", "cdnow")
				break
			}
			if filepath.Dir(d) == d {
				t.Fatal("no go.work above the test directory")
			}
		}
	}
	path := filepath.Join(dir, "CDNOW_sample.txt")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if testinfra.RequireInfra() {
			t.Fatalf("CDNOW data: %s is missing and %s=1", path, testinfra.EnvRequireInfra)
		}
		t.Skipf("CDNOW data: %s is missing (set GUANXI_CDNOW_DIR), skipping", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []cdnowRow
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		at, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		cds, err := strconv.ParseInt(fs[3], 10, 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		dollars, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		rows = append(rows, cdnowRow{line: n, customer: fs[1], at: at, cds: cds, cents: int64(math.Round(dollars * 100))})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// TestCDNOWThroughInteractionIngest feeds the real CDNOW sample through the
// suite as the issue asks: its 2,357 customers created in the customer
// service, its 6,919 purchases streamed into the interaction service's
// ingest, the purchase events consumed by segmentation, and the models
// fitted on the 39-week calibration period through the API. The estimates
// must match the published ones: BG/NBD within 1% and its log-likelihood
// -9582.4, Gamma-Gamma within 2%.
func TestCDNOWThroughInteractionIngest(t *testing.T) {
	rows := loadCDNOW(t)
	// The suite reports value in dollars, as the data is.
	t.Setenv("GUANXI_SEGMENTATION_CURRENCY", "USD")
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	ctx := context.Background()
	conn := func(name string) *grpc.ClientConn { return adminConn(t, e, name) }
	customers := customerv1.NewCustomerServiceClient(conn("customer"))
	interactions := interactionv1.NewInteractionServiceClient(conn("interaction"))
	segmentation := segmentationv1.NewSegmentationServiceClient(conn("segmentation"))

	// The customers, four callers at a time.
	var sampleIDs []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.customer] {
			seen[r.customer] = true
			sampleIDs = append(sampleIDs, r.customer)
		}
	}
	ids := make([]string, len(sampleIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	start := time.Now()
	for i, sid := range sampleIDs {
		g.Go(func() error {
			resp, err := customers.CreateCustomer(gctx, &customerv1.CreateCustomerRequest{
				Customer:  &customerv1.Customer{DisplayName: "CDNOW " + sid, ExternalId: "cdnow-" + sid},
				RequestId: "cdnow-" + sid, AllowDuplicate: true,
			})
			if err != nil {
				return fmt.Errorf("create customer %s: %w", sid, err)
			}
			ids[i] = resp.GetCustomer().GetId()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	byCustomer := map[string]string{}
	for i, sid := range sampleIDs {
		byCustomer[sid] = ids[i]
	}
	t.Logf("%d customers created in %s", len(ids), time.Since(start).Round(time.Millisecond))

	// The purchases, in one ingest stream. Eight rows are $0.00, each the
	// customer's only purchase (a free first CD); a purchase must be
	// positive, so they are ingested as $0.01. Neither model reads the
	// value of a first purchase (BG/NBD uses only the timing, Gamma-Gamma
	// only repeat purchases), so the fits are unaffected.
	start = time.Now()
	stream, err := interactions.IngestEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 1000
	for i := 0; i < len(rows); i += batch {
		req := &interactionv1.IngestEventsRequest{}
		for _, r := range rows[i:min(i+batch, len(rows))] {
			cents := max(r.cents, 1)
			req.Events = append(req.Events, &interactionv1.IngestEvent{
				Source: "cdnow", ExternalId: "row-" + strconv.Itoa(r.line),
				Interaction: &interactionv1.Interaction{
					CustomerId: byCustomer[r.customer], Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
					Channel: interactionv1.Channel_CHANNEL_WEB, OccurTime: timestamppb.New(r.at),
					Purchase: &interactionv1.Purchase{
						Total: &typev1.Money{CurrencyCode: "USD", AmountMinor: cents},
						Lines: []*interactionv1.PurchaseLine{{Sku: "CD", Category: "music", Quantity: r.cds,
							UnitPrice: &typev1.Money{CurrencyCode: "USD", AmountMinor: cents / r.cds}}},
					},
				},
			})
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCreatedCount() != int32(len(rows)) {
		for _, r := range resp.GetResults() {
			if r.GetOutcome() != interactionv1.IngestOutcome_INGEST_OUTCOME_CREATED {
				t.Fatalf("ingest created %d of %d; first refused: %v", resp.GetCreatedCount(), len(rows), r)
			}
		}
	}
	t.Logf("%d purchases ingested in %s", len(rows), time.Since(start).Round(time.Millisecond))

	// Every purchase reaches segmentation: the customer of the last row
	// shows all of theirs.
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.customer]++
	}
	lastRow := rows[len(rows)-1]
	testinfra.Eventually(t, 5*time.Minute, "the purchases in segmentation", func() bool {
		sum, err := segmentation.GetParetoSummary(ctx, &segmentationv1.GetParetoSummaryRequest{})
		if err != nil || sum.GetCustomerCount() < int64(len(ids)) {
			return false
		}
		v, err := segmentation.GetCustomerValue(ctx, &segmentationv1.GetCustomerValueRequest{CustomerId: byCustomer[lastRow.customer]})
		return err == nil && v.GetValue().GetPurchaseCount() == counts[lastRow.customer]
	})
	t.Logf("purchases consumed by segmentation %s after ingest began", time.Since(start).Round(time.Millisecond))

	// A refit outlasts any call deadline on a busy machine: it runs as an
	// operation, polled.
	refit, err := segmentation.RefitModel(ctx, &segmentationv1.RefitModelRequest{
		CalibrationEndTime: timestamppb.New(time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	fit := &segmentationv1.ModelFit{}
	if err := awaitGRPC(t, refit.GetOperation(), func(ctx context.Context, name string) (*typev1.Operation, error) {
		got, err := segmentation.GetOperation(ctx, &segmentationv1.GetOperationRequest{Name: name})
		return got.GetOperation(), err
	}, fit); err != nil {
		t.Fatal(err)
	}
	t.Logf("BG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f on %d customers; Gamma-Gamma p=%.4f q=%.4f gamma=%.4f on %d; fit in %s",
		fit.GetR(), fit.GetAlpha(), fit.GetA(), fit.GetB(), fit.GetLogLikelihood(), fit.GetCustomerCount(),
		fit.GetP(), fit.GetQ(), fit.GetGamma(), fit.GetRepeatCustomerCount(), fit.GetFitDuration().AsDuration())
	if fit.GetCustomerCount() != 2357 || fit.GetRepeatCustomerCount() != 946 {
		t.Errorf("fitted on %d customers, %d repeaters; want 2,357 and 946", fit.GetCustomerCount(), fit.GetRepeatCustomerCount())
	}
	if !within(fit.GetR(), 0.243, 0.01) || !within(fit.GetAlpha(), 4.414, 0.01) || !within(fit.GetA(), 0.793, 0.01) || !within(fit.GetB(), 2.426, 0.01) {
		t.Errorf("BG/NBD r=%v alpha=%v a=%v b=%v, published 0.243 4.414 0.793 2.426", fit.GetR(), fit.GetAlpha(), fit.GetA(), fit.GetB())
	}
	if math.Abs(fit.GetLogLikelihood()-(-9582.4)) > 0.05 {
		t.Errorf("log-likelihood %.3f, published -9582.4", fit.GetLogLikelihood())
	}
	if !within(fit.GetP(), 6.25, 0.02) || !within(fit.GetQ(), 3.74, 0.02) || !within(fit.GetGamma(), 15.44, 0.02) {
		t.Errorf("Gamma-Gamma p=%v q=%v gamma=%v, published 6.25 3.74 15.44", fit.GetP(), fit.GetQ(), fit.GetGamma())
	}
	// The calibration ends with 30 September in segmentation's time zone
	// (Asia/Shanghai by default): the fit says when that day began.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	got, err := segmentation.GetModelFit(ctx, &segmentationv1.GetModelFitRequest{})
	if err != nil || got.GetFit().GetR() != fit.GetR() || !got.GetFit().GetCalibrationEndTime().AsTime().Equal(time.Date(1997, 9, 30, 0, 0, 0, 0, shanghai)) {
		t.Errorf("GetModelFit = %v, %v", got, err)
	}
	// The same fit through the REST edge.
	api := adminClient(t, e)
	if rest := api.mustDo("GET", "/v1/modelFit", ""); rest["r"] != fit.GetR() {
		t.Errorf("GET /v1/modelFit = %v", rest)
	}
}
