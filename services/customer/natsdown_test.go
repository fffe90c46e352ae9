package customer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer"
)

// TestServesWithNATSDown: the customer service started while NATS is
// unreachable serves writes and reads; once NATS answers, the events of
// those writes reach the CUSTOMER stream, without a restart.
func TestServesWithNATSDown(t *testing.T) {
	t.Parallel()
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			ports, err := natsembed.FreePorts("127.0.0.1", 1)
			if err != nil {
				t.Fatal(err)
			}
			url := fmt.Sprintf("nats://127.0.0.1:%d", ports[0])
			h := startOn(t, d.URL, func(c *customer.Config) { c.NATSURL = url })

			created := h.create(t, &customerv1.Customer{DisplayName: "Written while NATS is down"})
			if got := h.get(t, created.GetId()); got.GetDisplayName() != created.GetDisplayName() {
				t.Fatalf("read back %q, want %q", got.GetDisplayName(), created.GetDisplayName())
			}

			ns, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: ports[0]}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ns.Shutdown()
				ns.WaitForShutdown()
			})
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			var cons jetstream.Consumer
			testinfra.Eventually(t, 20*time.Second, "the service to create its stream once NATS is up", func() bool {
				cons, err = js.OrderedConsumer(callCtx(t), customerv1.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{customerv1.SubjectCustomerCreated}})
				return err == nil
			})
			m, err := cons.Next(jetstream.FetchMaxWait(20 * time.Second))
			if err != nil {
				t.Fatalf("no customer.created event within 20s of NATS coming up: %v", err)
			}
			var ev customerv1.CustomerCreated
			if err := proto.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.GetCustomer().GetId() != created.GetId() {
				t.Fatalf("event for customer %s, want %s", ev.GetCustomer().GetId(), created.GetId())
			}
		})
	}
}
