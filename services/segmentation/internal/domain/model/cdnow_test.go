package model_test

import (
	"bufio"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain/model"
)

// cdnowDir is ../shared/data/cdnow from the repository root (the data is
// never copied into the repository), or GUANXI_CDNOW_DIR.
func cdnowDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("GUANXI_CDNOW_DIR"); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", "cdnow")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test directory")
		}
		dir = parent
	}
}

func openCDNOW(t *testing.T, name string) *os.File {
	t.Helper()
	path := filepath.Join(cdnowDir(t), name)
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
	t.Cleanup(func() { f.Close() })
	return f
}

// cdnowHistories reads CDNOW_sample.txt and summarises each customer as
// the service does: purchases of one day merged, the calibration period
// 1997-01-01 .. 1997-09-30 (39 weeks) inclusive, repeat value averaged
// over the repeat purchase days.
func cdnowHistories(t *testing.T) map[string]model.History {
	t.Helper()
	perCustomer := map[string]map[int64]float64{}
	end := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC).Unix() / 86400
	sc := bufio.NewScanner(openCDNOW(t, "CDNOW_sample.txt"))
	rows := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		rows++
		at, err := time.Parse("20060102", f[2])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		d := at.Unix() / 86400
		if perCustomer[f[1]] == nil {
			perCustomer[f[1]] = map[int64]float64{}
		}
		if d <= end {
			perCustomer[f[1]][d] += v
		}
	}
	if rows != 6919 || len(perCustomer) != 2357 {
		t.Fatalf("CDNOW_sample.txt: %d rows of %d customers, want 6,919 of 2,357", rows, len(perCustomer))
	}
	out := map[string]model.History{}
	for id, days := range perCustomer {
		var ds []int64
		for d := range days {
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		var repeat float64
		for _, d := range ds[1:] {
			repeat += days[d]
		}
		out[id] = model.NewHistory(len(ds), ds[0], ds[len(ds)-1], end, repeat)
	}
	return out
}

// TestCDNOWHistoriesMatchPublishedSummary checks the definitions against
// the published per-customer summary (x, t_x, T, zbar to 2 decimals).
func TestCDNOWHistoriesMatchPublishedSummary(t *testing.T) {
	hs := cdnowHistories(t)
	r := csv.NewReader(openCDNOW(t, "cdnow_customers_summary_with_transactions.csv"))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2358 {
		t.Fatalf("summary has %d lines, want 2,358", len(recs))
	}
	zero, repeaters := 0, 0
	var zsum float64
	for _, rec := range recs[1:] {
		id, _ := strconv.Atoi(rec[0])
		h, ok := hs[strconv.Itoa(id)]
		if !ok {
			h, ok = hs[padID(id)]
		}
		if !ok {
			t.Fatalf("customer %d is not in the sample", id)
		}
		x, _ := strconv.Atoi(rec[1])
		tx, _ := strconv.ParseFloat(rec[2], 64)
		tt, _ := strconv.ParseFloat(rec[3], 64)
		zbar, _ := strconv.ParseFloat(rec[4], 64)
		if h.X != x || math.Abs(h.TX-tx) > 0.006 || math.Abs(h.T-tt) > 0.006 || math.Abs(h.MeanValue-zbar) > 0.006 {
			t.Fatalf("customer %d: got x=%d t_x=%.3f T=%.3f zbar=%.3f, published %v", id, h.X, h.TX, h.T, h.MeanValue, rec)
		}
		if h.X == 0 {
			zero++
		} else {
			repeaters++
			zsum += h.MeanValue
		}
	}
	if zero != 1411 || repeaters != 946 {
		t.Errorf("%d without repeat purchases and %d repeaters, want 1,411 and 946", zero, repeaters)
	}
	if m := zsum / float64(repeaters); math.Abs(m-35.08) > 0.01 {
		t.Errorf("mean repeat value %.3f, want 35.08", m)
	}
}

func padID(id int) string {
	s := strconv.Itoa(id)
	return strings.Repeat("0", 4-len(s)) + s
}

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// TestFitCDNOW fits both models on the CDNOW calibration period and
// compares with the published estimates: BG/NBD within 1% and its
// log-likelihood -9582.4, Gamma-Gamma within 2%.
func TestFitCDNOW(t *testing.T) {
	var hs []model.History
	for _, h := range cdnowHistories(t) {
		hs = append(hs, h)
	}
	bg, err := model.FitBGNBD(hs)
	if err != nil {
		t.Fatal(err)
	}
	p := bg.Params
	t.Logf("BG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f (%d evaluations, %v)", p.R, p.Alpha, p.A, p.B, bg.LogLikelihood, bg.Evaluations, bg.Duration)
	if !within(p.R, 0.243, 0.01) || !within(p.Alpha, 4.414, 0.01) || !within(p.A, 0.793, 0.01) || !within(p.B, 2.426, 0.01) {
		t.Errorf("BG/NBD %+v, published r=0.243 alpha=4.414 a=0.793 b=2.426", p)
	}
	if math.Abs(bg.LogLikelihood-(-9582.4)) > 0.05 {
		t.Errorf("log-likelihood %.3f, published -9582.4", bg.LogLikelihood)
	}
	gg, err := model.FitGammaGamma(hs)
	if err != nil {
		t.Fatal(err)
	}
	q := gg.Params
	t.Logf("Gamma-Gamma p=%.4f q=%.4f gamma=%.4f LL=%.2f on %d customers (%v)", q.P, q.Q, q.Gamma, gg.LogLikelihood, gg.Customers, gg.Duration)
	if gg.Customers != 946 {
		t.Errorf("Gamma-Gamma fitted on %d customers, want the 946 repeaters", gg.Customers)
	}
	if !within(q.P, 6.25, 0.02) || !within(q.Q, 3.74, 0.02) || !within(q.Gamma, 15.44, 0.02) {
		t.Errorf("Gamma-Gamma %+v, published p=6.25 q=3.74 gamma=15.44", q)
	}
}
