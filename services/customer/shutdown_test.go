package customer_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/services/customer"
)

// shutdownChild, set in a child's environment, makes the test binary a
// replica of the customer service: what cmd/customer's main does, with
// its configuration from the GUANXI_* variables the parent sets.
const shutdownChild = "GUANXI_TEST_CUSTOMER_REPLICA"

func runReplica() int {
	if err := process.Run("customer", customer.LoadConfig, customer.Run); err != nil {
		fmt.Fprintln(os.Stderr, "customer:", err)
		return 1
	}
	return 0
}

// replica is a customer service running as its own OS process.
type replica struct {
	*testkit.Child
	addr string
}

// shutdownDrain and shutdownTimeout are the replicas' GUANXI_SHUTDOWN_*.
const (
	shutdownDrain   = 1500 * time.Millisecond
	shutdownTimeout = 10 * time.Second
)

func startReplica(t *testing.T, dbURL, natsURL, secret string) *replica {
	t.Helper()
	addr := testkit.FreeAddr(t)
	return &replica{addr: addr, Child: testkit.StartChild(t, shutdownChild+"=1",
		"GUANXI_CUSTOMER_GRPC_ADDR="+addr, "GUANXI_CUSTOMER_DATABASE_URL="+dbURL, "GUANXI_CUSTOMER_NATS_URL="+natsURL,
		"GUANXI_AUTH_SECRET="+secret, "GUANXI_LOG_LEVEL=warn",
		"GUANXI_SHUTDOWN_DRAIN="+shutdownDrain.String(), "GUANXI_SHUTDOWN_TIMEOUT="+shutdownTimeout.String())}
}

// TestSIGTERMDuringLoad: two replicas of the customer service (separate
// processes, one PostgreSQL database) behind one client that balances
// round robin over both and retries a call once on Unavailable, as a real
// client would. One replica gets SIGTERM mid-load: it reports NOT_SERVING
// at once while still answering calls for its drain, then stops, and
// exits 0 within the deadline; no call fails for the client.
func TestSIGTERMDuringLoad(t *testing.T) {
	dbURL := testinfra.PostgresURL(t) // two processes on one database
	natsURL := testinfra.EmbeddedNATS(t)
	cfg := testinfra.AuthConfig(t)
	a := startReplica(t, dbURL, natsURL, cfg.Secret)
	// The second starts once the first has migrated the database.
	waitServing(t, a.addr)
	b := startReplica(t, dbURL, natsURL, cfg.Secret)
	waitServing(t, b.addr)

	balancer := manual.NewBuilderWithScheme("replicas")
	balancer.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a.addr}, {Addr: b.addr}}})
	conn, err := grpc.NewClient(balancer.Scheme()+":///customer", grpc.WithResolvers(balancer),
		grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAsService(t, cfg),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := customerv1.NewCustomerServiceClient(conn)

	var (
		requests, retries, failures atomic.Int64
		mu                          sync.Mutex
		ids                         = map[string]string{} // request id -> customer id
		firstFailure                error
	)
	create := func(n int64) {
		requestID := fmt.Sprintf("shutdown-%d", n)
		call := func() (*customerv1.CreateCustomerResponse, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{RequestId: requestID,
				Customer: &customerv1.Customer{DisplayName: "Load " + requestID, OwnerId: testActor}})
		}
		resp, err := call()
		if status.Code(err) == codes.Unavailable {
			retries.Add(1)
			resp, err = call() // the same request id: the retry is safe
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures.Add(1)
			if firstFailure == nil {
				firstFailure = err
			}
			return
		}
		ids[requestID] = resp.GetCustomer().GetId()
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
				create(requests.Add(1))
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		load.Wait()
	}()

	testinfra.Eventually(t, 30*time.Second, "load under way", func() bool { return requests.Load() >= 200 })
	direct, err := grpc.NewClient(a.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), testinfra.CallAsService(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	beforeSignal := requests.Load()
	signalled := time.Now()
	if err := a.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Not ready at once, still serving: a load balancer has the drain to
	// take the replica out, and what it still sends meanwhile succeeds.
	var notReadyAfter time.Duration
	testinfra.Eventually(t, shutdownDrain, "NOT_SERVING during the drain", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(direct).Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			notReadyAfter = time.Since(signalled)
			return true
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = customerv1.NewCustomerServiceClient(direct).CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
		RequestId: "direct-during-drain", Customer: &customerv1.Customer{DisplayName: "Drain", OwnerId: testActor}})
	cancel()
	if err != nil {
		t.Errorf("a call reaching the draining replica failed: %v", err)
	} else if drained := time.Since(signalled); drained >= shutdownDrain {
		t.Errorf("the direct call ended %s after SIGTERM, past the drain; the check proves nothing", drained)
	}

	select {
	case <-a.Exited:
	case <-time.After(shutdownDrain + shutdownTimeout + 5*time.Second):
		t.Fatalf("replica still running %s after SIGTERM", time.Since(signalled))
	}
	exitTime := time.Since(signalled)
	exitCode := a.Cmd.ProcessState.ExitCode()
	duringStop := requests.Load() - beforeSignal

	// The survivor takes the whole load.
	afterExit := requests.Load()
	testinfra.Eventually(t, 30*time.Second, "load after the exit", func() bool { return requests.Load() >= afterExit+200 })
	close(stop)
	load.Wait()

	t.Logf("SIGTERM under load: requests=%d (%d between the signal and the exit) retries=%d errors=%d not_ready_after=%s exit_code=%d exit_time=%s (drain %s, timeout %s)",
		requests.Load(), duringStop, retries.Load(), failures.Load(), notReadyAfter.Round(time.Millisecond), exitCode,
		exitTime.Round(time.Millisecond), shutdownDrain, shutdownTimeout)
	if n := failures.Load(); n > 0 {
		t.Errorf("%d calls failed after one retry, first: %v", n, firstFailure)
	}
	if a.Err != nil || exitCode != 0 {
		t.Errorf("replica exited %v (code %d), want 0", a.Err, exitCode)
	}
	if exitTime > shutdownDrain+shutdownTimeout {
		t.Errorf("replica took %s to exit, past drain+timeout %s", exitTime, shutdownDrain+shutdownTimeout)
	}
	// A retried call made its customer once: one id per request id.
	seen := map[string]bool{}
	for req, id := range ids {
		if seen[id] {
			t.Errorf("customer %s answered for two request ids (%s)", id, req)
		}
		seen[id] = true
	}
}

// waitServing waits until the replica at addr reports SERVING.
func waitServing(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	testinfra.Eventually(t, 60*time.Second, "replica "+addr+" serving", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
}
