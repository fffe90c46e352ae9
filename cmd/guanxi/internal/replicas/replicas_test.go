// Package replicas_test runs two replicas of each service with background
// jobs (segmentation, loyalty, interaction, notification) as separate OS
// processes against one PostgreSQL server and one NATS, and checks from
// their databases that every scheduled job ran once per period, that a job
// held by a replica killed with SIGKILL is taken over within the job lease
// plus a poll, and that segmentation's stored values agree with the
// purchases at every sample while purchases flow and recomputes run.
//
//	GUANXI_TEST_POSTGRES_URL=... go test -run TestReplicasRunJobsOnce ./internal/replicas/
package replicas_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
	"github.com/guanxi-crm/guanxi/services/interaction"
	"github.com/guanxi-crm/guanxi/services/loyalty"
	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/segmentation"
)

// envService makes the test binary run one replica of that service
// instead of the tests (configured by GUANXI_<SERVICE>_* as in production).
const envService = "GUANXI_REPLICAS_TEST_SERVICE"

func TestMain(m *testing.M) {
	if svc := os.Getenv(envService); svc != "" {
		os.Exit(runReplica(svc))
	}
	os.Exit(m.Run())
}

func runReplica(name string) int {
	var err error
	switch name {
	case "segmentation":
		err = process.Run(name, segmentation.LoadConfig, segmentation.Run)
	case "loyalty":
		err = process.Run(name, loyalty.LoadConfig, loyalty.Run)
	case "interaction":
		err = process.Run(name, interaction.LoadConfig, interaction.Run)
	case "notification":
		err = process.Run(name, notification.LoadConfig, notification.Run)
	default:
		err = fmt.Errorf("unknown service %q", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	return 0
}

// Test settings: short periods and lease, so the run fits in a minute.
const (
	period   = 500 * time.Millisecond
	jobLease = time.Second
	// slack covers a busy 2-core machine scheduling eight processes.
	slack = 1500 * time.Millisecond
)

// jobs are the scheduled jobs of each service (their periods are set to
// period below) and their settings.
var services = []struct {
	name     string
	env      map[string]string
	periodic []string
	single   []string
}{
	{"segmentation", map[string]string{"RECOMPUTE_EVERY": period.String(), "REFIT_EVERY": (2 * period).String()},
		[]string{"recompute values", "refit model"}, nil},
	{"loyalty", map[string]string{"JOB_INTERVAL": period.String()}, []string{"loyalty jobs"}, nil},
	{"interaction", map[string]string{"SLA_CHECK_INTERVAL": period.String()}, []string{"schedules"}, nil},
	{"notification", map[string]string{"SCAN_INTERVAL": period.String(), "DISPATCH_INTERVAL": "200ms"},
		[]string{"schedules"}, []string{"consent-sync"}},
}

type replica struct {
	service string
	cmd     *exec.Cmd
	log     string
	killed  bool
}

func (r *replica) pid() int { return r.cmd.Process.Pid }

func TestReplicasRunJobsOnce(t *testing.T) {
	natsURL := testinfra.EmbeddedNATS(t)
	nc, js, err := events.Connect(natsURL, "replicas-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := t.Context()
	for name, subjects := range map[string]string{
		customerv1.Stream: customerv1.StreamSubjects, interactionv1.Stream: interactionv1.StreamSubjects,
		interactionv1.IngestStream: interactionv1.IngestStreamSubjects, loyaltyv1.Stream: loyaltyv1.StreamSubjects,
		segmentationv1.Stream: segmentationv1.StreamSubjects, notificationv1.Stream: notificationv1.StreamSubjects,
	} {
		if err := events.EnsureStream(ctx, js, name, subjects); err != nil {
			t.Fatal(err)
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	logs := t.TempDir()

	dbs := map[string]*sql.DB{}
	envs := map[string][]string{}
	var replicas []*replica
	for _, s := range services {
		url := testinfra.PostgresURL(t)
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(3)
		t.Cleanup(func() { db.Close() })
		dbs[s.name] = db
		prefix := "GUANXI_" + strings.ToUpper(s.name) + "_"
		// Eight processes share the server: four connections each.
		replicaURL := url + "&pool_max_conns=4"
		if !strings.Contains(url, "?") {
			replicaURL = url + "?pool_max_conns=4"
		}
		env := append(os.Environ(), envService+"="+s.name, "GUANXI_AUTH_SECRET="+hex.EncodeToString(secret), "GUANXI_LOG_LEVEL=info",
			prefix+"DATABASE_URL="+replicaURL, prefix+"NATS_URL="+natsURL, prefix+"GRPC_ADDR=127.0.0.1:0",
			prefix+"CUSTOMER_ADDR=127.0.0.1:1", prefix+"JOB_LEASE="+jobLease.String())
		for k, v := range s.env {
			env = append(env, prefix+k+"="+v)
		}
		envs[s.name] = env
		for i := range 2 {
			replicas = append(replicas, startReplica(t, s.name, i, env, logs))
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica logs in %s", logs)
			for _, r := range replicas {
				if out, err := os.ReadFile(r.log); err == nil {
					tail := string(out)
					if len(tail) > 3000 {
						tail = tail[len(tail)-3000:]
					}
					t.Logf("--- %s pid %d:\n%s", r.service, r.pid(), tail)
				}
			}
		}
	})

	// Every periodic job has run once and every single job is held.
	testinfra.Eventually(t, 45*time.Second, "every job running", func() bool {
		for _, s := range services {
			for _, job := range s.periodic {
				if n := count(t, dbs[s.name], `SELECT COUNT(*) FROM job_runs WHERE name = $1 AND finished_at IS NOT NULL`, job); n == 0 {
					return false
				}
			}
			for _, job := range s.single {
				if holderOf(t, dbs[s.name], job) == "" {
					return false
				}
			}
		}
		return true
	})
	start := time.Now()

	// Sample segmentation's stored values against its purchases while
	// purchases flow, each sample one statement (one snapshot).
	var (
		samples, bad atomic.Int64
		firstBad     atomic.Value
		sampling     sync.WaitGroup
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampling.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
			var n int64
			var example sql.NullString
			err := dbs["segmentation"].QueryRowContext(sampleCtx, `
				SELECT COUNT(*), MIN(p.customer_id || ': ' || p.n || ' purchases, ' || p.s || ' spent; stored ' ||
					COALESCE(v.purchase_count::text, 'no value') || ', ' || COALESCE(v.lifetime_spend::text, '-') || ', trailing ' ||
					COALESCE(v.trailing_spend::text, '-') || ' as of ' || COALESCE(v.compute_time::text, '-') || ', last purchase ' || p.last)
				FROM (SELECT customer_id, COUNT(*) AS n, SUM(amount_minor) AS s, MAX(occur_time) AS last FROM purchases GROUP BY customer_id) p
				LEFT JOIN customer_values v ON v.customer_id = p.customer_id
				WHERE v.customer_id IS NULL OR v.purchase_count <> p.n OR v.lifetime_spend <> p.s OR v.trailing_spend <> p.s`).Scan(&n, &example)
			if err != nil {
				if sampleCtx.Err() == nil {
					t.Errorf("sample: %v", err)
				}
				return
			}
			samples.Add(1)
			if n > 0 {
				bad.Add(1)
				firstBad.CompareAndSwap(nil, fmt.Sprintf("%d customers, e.g. %s", n, example.String))
			}
		}
	})

	// Purchases at a steady rate for 12 s: 300 customers, 100 a second.
	customers := make([]string, 300)
	for i := range customers {
		customers[i] = uuid.NewString()
	}
	const rate, flow = 100, 12 * time.Second
	pace := time.NewTicker(time.Second / rate)
	defer pace.Stop()
	var (
		published int
		kills     []kill
	)
	for time.Since(start) < flow {
		<-pace.C
		id := uuid.NewString()
		testinfra.PublishEvent(t, js, interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
			InteractionId: uuid.NewString(), CustomerId: customers[published%len(customers)],
			Total:     &typev1.Money{CurrencyCode: "CNY", AmountMinor: int64(100 + published%7*10)},
			OccurTime: timestamppb.Now(),
		}, id, id)
		published++
		switch {
		case len(kills) == 0 && time.Since(start) > 3*time.Second:
			// A segmentation replica dies, at best in the middle of a
			// recompute: it neither finishes nor releases the period.
			kills = append(kills, killRecomputing(t, dbs["segmentation"], replicas))
			// and is restarted, as an orchestrator does: two replicas
			// again, one recomputing while the other handles purchases.
			replicas = append(replicas, startReplica(t, "segmentation", 2, envs["segmentation"], logs))
		case len(kills) == 1 && time.Since(start) > 6*time.Second:
			// The notification replica holding the consent sync dies.
			kills = append(kills, killHolder(t, dbs["notification"], replicas, "notification", "consent-sync"))
			replicas = append(replicas, startReplica(t, "notification", 2, envs["notification"], logs))
		}
	}
	testinfra.Eventually(t, 60*time.Second, fmt.Sprintf("segmentation has all %d purchases", published), func() bool {
		return count(t, dbs["segmentation"], `SELECT COUNT(*) FROM purchases`) == int64(published)
	})
	// Two more recomputes after the last purchase, sampled too.
	last := count(t, dbs["segmentation"], `SELECT COALESCE(MAX(finished_at), 0) FROM job_runs WHERE name = 'recompute values'`)
	testinfra.Eventually(t, 10*time.Second, "two recomputes after the flow", func() bool {
		return count(t, dbs["segmentation"], `SELECT COUNT(*) FROM job_runs WHERE name = 'recompute values' AND started_at > $1 AND finished_at IS NOT NULL`, last) >= 2
	})
	stopSampling()
	sampling.Wait()
	elapsed := time.Since(start)

	// Takeover within the bound: the job lease plus a poll (a quarter of
	// the lease or period), plus one period for a periodic job's next
	// run, plus slack for the machine.
	for _, k := range kills {
		bound := jobLease + jobLease/4 + slack
		if k.periodic {
			bound += period
		}
		db := dbs[k.service]
		var took time.Duration
		testinfra.Eventually(t, 10*time.Second, k.job+" taken over", func() bool {
			var at int64
			if k.periodic {
				at = count(t, db, `SELECT COALESCE(MIN(finished_at), 0) FROM job_runs WHERE name = $1 AND started_at > $2 AND finished_at IS NOT NULL AND holder <> $3`,
					k.job, k.at.UnixMicro(), k.holder)
			} else {
				at = k.at.Add(k.took).UnixMicro()
			}
			took = time.UnixMicro(at).Sub(k.at)
			return at != 0
		})
		t.Logf("%s %q (held by pid %d, killed %s): taken over after %v (bound %v)", k.service, k.job, k.pid, k.state, took.Round(time.Millisecond), bound)
		if took > bound {
			t.Errorf("%s %q taken over after %v, bound %v", k.service, k.job, took, bound)
		}
	}

	// Once per period, never two at once, from every service's job_runs.
	for _, s := range services {
		db := dbs[s.name]
		for _, job := range s.periodic {
			twice := count(t, db, `SELECT COUNT(*) FROM (SELECT period FROM job_runs WHERE name = $1 AND finished_at IS NOT NULL
				GROUP BY period HAVING COUNT(*) > 1) d`, job)
			overlaps := count(t, db, `SELECT COUNT(*) FROM job_runs a JOIN job_runs b ON a.name = b.name AND a.fence < b.fence
				WHERE a.name = $1 AND a.finished_at IS NOT NULL AND b.started_at < a.finished_at`, job)
			runs := count(t, db, `SELECT COUNT(*) FROM job_runs WHERE name = $1 AND finished_at IS NOT NULL AND started_at >= $2`, job, start.UnixMicro())
			cut := count(t, db, `SELECT COUNT(*) FROM job_runs WHERE name = $1 AND finished_at IS NULL`, job)
			holders := count(t, db, `SELECT COUNT(DISTINCT holder) FROM job_runs WHERE name = $1`, job)
			every := period
			if job == "refit model" {
				every = 2 * period
			}
			// The schedule never stalls: from one run's end to the next
			// run's start at most a period, or, when a holder was killed
			// in between, two plus the takeover.
			gap := count(t, db, `SELECT COALESCE(MAX(next - finished_at), 0) FROM (
				SELECT finished_at, LEAD(started_at) OVER (ORDER BY started_at) AS next FROM job_runs
				WHERE name = $1 AND started_at >= $2) r
				WHERE finished_at IS NOT NULL AND next IS NOT NULL`, job, start.UnixMicro())
			maxGap := time.Duration(gap) * time.Microsecond
			t.Logf("%s %q: %d runs in %v (period %v), %d periods run twice, %d overlapping runs, %d unfinished (running, or killed), %d holders, longest pause %v",
				s.name, job, runs, elapsed.Round(time.Second), every, twice, overlaps, cut, holders, maxGap.Round(time.Millisecond))
			if twice != 0 || overlaps != 0 {
				t.Errorf("%s %q: %d periods ran twice, %d runs overlapped", s.name, job, twice, overlaps)
			}
			if bound := 2*every + jobLease + jobLease/4 + slack; runs == 0 || maxGap > bound {
				t.Errorf("%s %q: %d runs, longest pause %v (bound %v): the schedule stalled", s.name, job, runs, maxGap, bound)
			}
		}
	}

	t.Logf("segmentation values: %d samples while %d purchases flowed, %d with a stored value disagreeing with the purchases", samples.Load(), published, bad.Load())
	if samples.Load() < 20 {
		t.Errorf("only %d samples", samples.Load())
	}
	if bad.Load() != 0 {
		t.Errorf("%d of %d samples had stored values disagreeing with the purchases; first: %v", bad.Load(), samples.Load(), firstBad.Load())
	}
}

func startReplica(t *testing.T, service string, i int, env []string, logs string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = env
	log, err := os.Create(filepath.Join(logs, fmt.Sprintf("%s-%d.log", service, i)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{service: service, cmd: cmd, log: log.Name()}
	t.Cleanup(func() {
		if r.killed {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return r
}

type kill struct {
	service, job, holder, state string
	pid                         int
	periodic                    bool
	at                          time.Time
	// took is how long a single job took to be taken over, measured
	// right after the kill.
	took time.Duration
}

// killRecomputing kills the segmentation replica running a recompute, when
// one is caught running within two seconds, else the one that ran the
// last.
func killRecomputing(t *testing.T, db *sql.DB, replicas []*replica) kill {
	t.Helper()
	const job = "recompute values"
	holder, state := "", "between runs"
	deadline := time.Now().Add(2 * time.Second)
	for holder == "" && time.Now().Before(deadline) {
		_ = db.QueryRowContext(t.Context(), `SELECT holder FROM job_runs WHERE name = $1 AND finished_at IS NULL`, job).Scan(&holder)
	}
	if holder != "" {
		state = "in the middle of a run"
	} else if err := db.QueryRowContext(t.Context(), `SELECT holder FROM job_runs WHERE name = $1 ORDER BY started_at DESC LIMIT 1`, job).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	k := killByHolder(t, replicas, "segmentation", job, holder)
	k.periodic, k.state = true, state
	return k
}

// killHolder kills the replica holding a single job.
func killHolder(t *testing.T, db *sql.DB, replicas []*replica, service, job string) kill {
	t.Helper()
	k := killByHolder(t, replicas, service, job, holderOf(t, db, job))
	k.state = "while holding it"
	testinfra.Eventually(t, 10*time.Second, job+" taken over", func() bool {
		h := holderOf(t, db, job)
		return h != "" && h != k.holder
	})
	k.took = time.Since(k.at)
	return k
}

func killByHolder(t *testing.T, replicas []*replica, service, job, holder string) kill {
	t.Helper()
	for _, r := range replicas {
		if r.service == service && !r.killed && strings.Contains(holder, fmt.Sprintf("-%d-", r.pid())) {
			if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			at := time.Now()
			r.killed = true
			_ = r.cmd.Wait()
			return kill{service: service, job: job, holder: holder, pid: r.pid(), at: at}
		}
	}
	t.Fatalf("no live %s replica holds %q (holder %q)", service, job, holder)
	return kill{}
}

// holderOf is the holder of a job's unexpired lease, "" when none.
func holderOf(t *testing.T, db *sql.DB, job string) string {
	t.Helper()
	var holder string
	err := db.QueryRowContext(t.Context(), `SELECT holder FROM job_leases WHERE name = $1
		AND expires_at > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`, job).Scan(&holder)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return holder
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return 0 // not migrated yet
		}
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
