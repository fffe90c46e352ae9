package customer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
	eventsadapter "github.com/guanxi-crm/guanxi/services/customer/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/migrations"
)

// crashChildDB, when set, turns the test binary into the process that is
// killed: it commits a customer and its event, then dies by SIGKILL before
// any relay could publish.
const crashChildDB = "GUANXI_TEST_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if os.Getenv(shutdownChild) != "" {
		os.Exit(runReplica())
	}
	if url := os.Getenv(crashChildDB); url != "" {
		if err := commitThenDie(url); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// commitThenDie does what CreateCustomer does (the row and its outbox event
// in one transaction) and is killed right after the commit.
func commitThenDie(url string) error {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return err
	}
	// No JetStream and no relay: the process dies before publishing.
	outbox := events.NewOutbox(db, nil, slog.New(slog.DiscardHandler))
	c, err := app.New(sqlstore.New(db, outbox, eventsadapter.NewEncoder())).Customers.
		CreateCustomer(ctx, app.CreateCustomer{Profile: domain.Profile{DisplayName: "李雷", Email: "lilei@example.com", OwnerID: "am-wu"}})
	if err != nil {
		return err
	}
	fmt.Println(c.ID)
	return syscall.Kill(os.Getpid(), syscall.SIGKILL)
}

// TestEventSurvivesKill: a process killed between the SQL commit and the
// publish loses no event; the outbox relay of the restarted service
// delivers it.
func TestEventSurvivesKill(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			testEventSurvivesKill(t, d.URL)
		})
	}
}

func testEventSurvivesKill(t *testing.T, dbURL string) {
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildDB+"="+dbURL)
	var out, stderr bytes.Buffer
	child.Stdout, child.Stderr = &out, &stderr
	err := child.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v (stderr %s)", err, stderr.String())
	}
	id := strings.TrimSpace(out.String())
	if id == "" {
		t.Fatalf("child committed nothing (stderr %s)", stderr.String())
	}

	// Restart the service on the same database and watch the subject.
	natsURL := testinfra.EmbeddedNATS(t)
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(customerv1.SubjectCustomerCreated)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := customer.Config{DatabaseURL: dbURL, Broker: servicehost.Broker{NATSURL: natsURL}, Listener: lis, Auth: testinfra.AuthConfig(t)}
	testinfra.Background(t, func(ctx context.Context) error { return customer.Run(ctx, cfg, slog.New(slog.DiscardHandler)) })

	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the committed event was not published after restart: %v", err)
	}
	var created customerv1.CustomerCreated
	if err := proto.Unmarshal(msg.Data, &created); err != nil {
		t.Fatal(err)
	}
	if created.GetCustomer().GetId() != id {
		t.Fatalf("published customer %s, want the one committed before the kill, %s", created.GetCustomer().GetId(), id)
	}
	if created.GetCustomer().GetOwnerId() != "am-wu" {
		t.Errorf("published owner %q, want am-wu", created.GetCustomer().GetOwnerId())
	}
}
