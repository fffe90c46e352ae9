package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	accessv1 "github.com/guanxi-crm/guanxi/proto/guanxi/access/v1"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// gatewayChild, set in a child's environment, makes the test binary a
// gateway: what cmd/gateway's main does, configured by the GUANXI_*
// variables the parent sets.
const gatewayChild = "GUANXI_TEST_GATEWAY_REPLICA"

func TestMain(m *testing.M) {
	if os.Getenv(gatewayChild) != "" {
		if err := process.Run("gateway", gateway.LoadConfig, gateway.Run); err != nil {
			fmt.Fprintln(os.Stderr, "gateway:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// edge is a gateway running as its own OS process.
type edge struct {
	*testkit.Child
	base string
}

const (
	edgeDrain   = 1500 * time.Millisecond
	edgeTimeout = 10 * time.Second
)

func startEdge(t *testing.T, backend string) *edge {
	t.Helper()
	addr := testkit.FreeAddr(t)
	env := []string{gatewayChild + "=1", "GUANXI_GATEWAY_HTTP_ADDR=" + addr, "GUANXI_AUTH_SECRET=" + testAuth.Secret,
		"GUANXI_LOG_LEVEL=warn", "GUANXI_SHUTDOWN_DRAIN=" + edgeDrain.String(), "GUANXI_SHUTDOWN_TIMEOUT=" + edgeTimeout.String()}
	for _, s := range []string{"CUSTOMER", "INTERACTION", "LOYALTY", "SEGMENTATION", "NOTIFICATION", "ACCESS"} {
		env = append(env, "GUANXI_GATEWAY_"+s+"_ADDR="+backend)
	}
	e := &edge{Child: testkit.StartChild(t, env...), base: "http://" + addr}
	testkit.Eventually(t, 30*time.Second, "gateway "+addr+" ready", func() bool {
		resp, err := http.Get(e.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

// TestGatewaySIGTERMDuringLoad: two gateways (separate processes) in front
// of one service, a client alternating between them that retries a
// request once on the other gateway when it fails for want of the edge (a
// transport error, 502, 503), as a client behind a load balancer would.
// One gateway gets SIGTERM mid-load: its /readyz fails at once while it
// still serves for the drain, it exits 0 within the deadline, and no
// request fails for the client.
func TestGatewaySIGTERMDuringLoad(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(testAuth)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(slog.New(slog.DiscardHandler))
	customerv1.RegisterCustomerServiceServer(srv, fakeCustomers{verifier: verifier})
	accessv1.RegisterAccessServiceServer(srv, fakeAccess{trades: &keyTrades})
	testkit.Background(t, func(ctx context.Context) error { return srv.Serve(ctx, lis) })

	a, b := startEdge(t, lis.Addr().String()), startEdge(t, lis.Addr().String())
	edges := []string{a.base, b.base}
	token := "Bearer " + testkit.Token(t, testAuth, auth.Identity{Subject: "tester"})
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(base, key string) (int, string, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/customers", strings.NewReader(`{"displayName":"Ada"}`))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	edgeFailed := func(code int, err error) bool {
		return err != nil || code == http.StatusBadGateway || code == http.StatusServiceUnavailable
	}

	var (
		requests, retries, failures atomic.Int64
		mu                          sync.Mutex
		firstFailure                string
	)
	send := func(n int64) {
		key := fmt.Sprintf("edge-%d", n)
		first := int(n % 2)
		code, body, err := post(edges[first], key)
		if edgeFailed(code, err) {
			retries.Add(1)
			code, body, err = post(edges[1-first], key)
		}
		if err != nil || code != http.StatusOK || !strings.Contains(body, `"id":"`+key+`"`) {
			failures.Add(1)
			mu.Lock()
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("%s: %d %s %v", key, code, body, err)
			}
			mu.Unlock()
		}
	}
	stop := make(chan struct{})
	var load sync.WaitGroup
	for range 4 {
		load.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				send(requests.Add(1))
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); load.Wait() })
	defer stopLoad()

	testkit.Eventually(t, 30*time.Second, "load under way", func() bool { return requests.Load() >= 200 })
	beforeSignal := requests.Load()
	signalled := time.Now()
	if err := a.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var notReadyAfter time.Duration
	testkit.Eventually(t, edgeDrain, "/readyz 503 during the drain", func() bool {
		resp, err := http.Get(a.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			notReadyAfter = time.Since(signalled)
			return true
		}
		return false
	})
	if code, body, err := post(a.base, "direct-during-drain"); err != nil || code != http.StatusOK {
		t.Errorf("a request reaching the draining gateway failed: %d %s %v", code, body, err)
	} else if d := time.Since(signalled); d >= edgeDrain {
		t.Errorf("the direct request ended %s after SIGTERM, past the drain; the check proves nothing", d)
	}

	select {
	case <-a.Exited:
	case <-time.After(edgeDrain + edgeTimeout + 5*time.Second):
		t.Fatalf("gateway still running %s after SIGTERM", time.Since(signalled))
	}
	exitTime := time.Since(signalled)
	exitCode := a.Cmd.ProcessState.ExitCode()
	duringStop := requests.Load() - beforeSignal
	afterExit := requests.Load()
	testkit.Eventually(t, 30*time.Second, "load after the exit", func() bool { return requests.Load() >= afterExit+200 })
	stopLoad()

	t.Logf("gateway SIGTERM under load: requests=%d (%d between the signal and the exit) retries=%d errors=%d not_ready_after=%s exit_code=%d exit_time=%s (drain %s, timeout %s)",
		requests.Load(), duringStop, retries.Load(), failures.Load(), notReadyAfter.Round(time.Millisecond), exitCode,
		exitTime.Round(time.Millisecond), edgeDrain, edgeTimeout)
	if n := failures.Load(); n > 0 {
		t.Errorf("%d requests failed after one retry, first: %s", n, firstFailure)
	}
	if a.Err != nil || exitCode != 0 {
		t.Errorf("gateway exited %v (code %d), want 0", a.Err, exitCode)
	}
	if exitTime > edgeDrain+edgeTimeout {
		t.Errorf("gateway took %s to exit, past drain+timeout %s", exitTime, edgeDrain+edgeTimeout)
	}
}
