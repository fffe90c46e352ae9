package events_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// TestPurchasesBatchesMatchOneByOne applies the same interaction events to
// two services, one message per transaction through the consumer's Handler
// and in batches through its HandleBatch, and finds every membership (tier
// included), every ledger entry, every purchase's earning and the same
// published events the same: purchases that lift members into VIP in the
// middle of a batch, several purchases of a member on one capped day,
// redeliveries in and across batches, a purchase replayed under another
// event id, a return before its purchase (parked) and after it, a buyer
// who joins by buying, one merged into another, one who is no member of a
// program that does not enroll by buying, and an invalid purchase.
func TestPurchasesBatchesMatchOneByOne(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			cfg, err := loyalty.LoadConfig()
			if err != nil {
				t.Fatal(err)
			}
			program := func(id string, auto bool, dayCap int64) domain.Program {
				p := cfg.DefaultProgram()
				p.ID, p.Name, p.AutoEnroll, p.DayCapPoints = id, "p "+id[len(id)-4:], auto, dayCap
				p.Tiers = []domain.TierDef{{Code: "normal", Name: "Normal"}, {Code: "vip", Name: "VIP", QualifyPoints: 400, MultiplierPercent: 150}}
				p.CreateTime, p.UpdateTime = now, now
				return p
			}
			programs := []domain.Program{
				program("01890a5d-ac96-774b-bcce-00000000b001", true, 0),
				program("01890a5d-ac96-774b-bcce-00000000b002", true, 300),
				program("01890a5d-ac96-774b-bcce-00000000b003", false, 0),
			}
			type side struct {
				h   *events.Handlers
				svc *app.Service
				st  *sqlstore.Store
				out *published
			}
			newID := func() string { return uuid.Must(uuid.NewV7()).String() }
			customers := make([]string, 12)
			for i := range customers {
				customers[i] = newID()
			}
			joiner, merged, survivor := customers[0], customers[1], customers[2]
			message := func(subject string, payload proto.Message) platformevents.Message {
				b, err := proto.Marshal(payload)
				if err != nil {
					t.Fatal(err)
				}
				return platformevents.Message{ID: newID(), Subject: subject, Payload: b, Time: now, NumDelivered: 1}
			}
			newSide := func(url string) side {
				db := testinfra.OpenDB(t, url, migrations.FS)
				out := &published{}
				st := sqlstore.New(db, out, eventsadapter.NewEncoder(), nil)
				svc, err := app.New(st, app.Options{DefaultProgramID: programs[0].ID, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range programs {
					if err := svc.Programs.EnsureProgram(ctx, p); err != nil {
						t.Fatal(err)
					}
				}
				h := events.NewHandlers(struct {
					*app.Accounts
					*app.Points
					*app.Merges
				}{svc.Accounts, svc.Points, svc.Merges})
				// Every customer but the joiner is a member of the
				// automatic programs; some of the other one too.
				for i, c := range customers[1:] {
					err := h.Customers(ctx, message(customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: c}}))
					if err != nil {
						t.Fatal(err)
					}
					if i%2 == 0 {
						if _, err := svc.Accounts.Enroll(ctx, programs[2].ID, c); err != nil {
							t.Fatal(err)
						}
					}
				}
				err = h.Customers(ctx, message(customerv1.SubjectCustomerMerged,
					&customerv1.CustomerMerged{MergedCustomerId: merged, SurvivorCustomerId: survivor}))
				if err != nil {
					t.Fatal(err)
				}
				out.evs = nil
				return side{h: h, svc: svc, st: st, out: out}
			}
			other := testinfra.SQLiteURL(t)
			if d.Name == "postgres" {
				other = testinfra.PostgresURL(t)
			}
			single, batched := newSide(d.URL), newSide(other)

			rng := rand.New(rand.NewPCG(22, 9))
			money := func(minor int64) *typev1.Money { return &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor} }
			var (
				stream    []platformevents.Message
				purchases []string
			)
			purchase := func(customer string, at time.Time, minor int64) (platformevents.Message, *interactionv1.PurchaseRecorded) {
				ev := &interactionv1.PurchaseRecorded{InteractionId: newID(), CustomerId: customer, OrderId: fmt.Sprintf("o-%d", len(purchases)),
					Total: money(minor), OccurTime: timestamppb.New(at),
					Lines: []*interactionv1.PurchaseLine{{Sku: "sku-1", Category: "tea", Quantity: 1, UnitPrice: money(minor)}}}
				purchases = append(purchases, ev.InteractionId)
				return message(interactionv1.SubjectPurchaseRecorded, ev), ev
			}
			returnOf := func(pu *interactionv1.PurchaseRecorded) platformevents.Message {
				return message(interactionv1.SubjectReturnRecorded, &interactionv1.ReturnRecorded{InteractionId: newID(),
					CustomerId: pu.CustomerId, PurchaseInteractionId: pu.InteractionId, OrderId: pu.OrderId,
					Refund: pu.Total, Lines: pu.Lines, OccurTime: timestamppb.New(pu.OccurTime.AsTime().Add(time.Hour))})
			}
			for i := range 160 {
				c := customers[rng.IntN(len(customers))]
				// Days in turn, several purchases a day: the capped program
				// stops crediting a member's day, and amounts that take
				// members past VIP's 400 points after a few purchases.
				at := now.Add(-time.Duration(30-i/8) * 24 * time.Hour).Add(time.Duration(i%8) * time.Minute)
				m, pu := purchase(c, at, int64(2000+rng.IntN(15000)))
				switch {
				case i%23 == 5: // its return first: parked until it comes
					stream = append(stream, returnOf(pu), m)
				case i%17 == 3: // returned later
					stream = append(stream, m)
					defer func() { stream = append(stream, returnOf(pu)) }()
				case i%9 == 0: // redelivered at once
					stream = append(stream, m, m)
				case i%13 == 0: // replayed under another event id
					again := m
					again.ID = newID()
					stream = append(stream, m, again)
				default:
					stream = append(stream, m)
				}
				if i%31 == 0 && len(stream) > 10 { // redelivered later
					stream = append(stream, stream[rng.IntN(len(stream)-5)])
				}
			}
			for _, c := range []string{joiner, merged, joiner} {
				m, _ := purchase(c, now.Add(-time.Hour), 9000)
				stream = append(stream, m)
			}
			// An invalid purchase (no customer) among valid ones.
			bad, _ := purchase("", now.Add(-time.Hour), 100)
			stream = append(stream[:40], append([]platformevents.Message{bad}, stream[40:]...)...)

			apply := func(h func(context.Context, platformevents.Message) error, m platformevents.Message) {
				t.Helper()
				if err := h(ctx, m); err != nil && m.ID != bad.ID {
					t.Fatalf("%s: %v", m.Subject, err)
				}
			}
			for _, m := range stream {
				apply(single.h.Interactions, m)
			}
			batches := 0
			for rest := stream; len(rest) > 0; batches++ {
				n := min(len(rest), 1+rng.IntN(40))
				// As the consumer does: a failed batch is handled message
				// by message.
				if err := batched.h.InteractionsBatch(ctx, rest[:n]); err != nil {
					for _, m := range rest[:n] {
						apply(batched.h.Interactions, m)
					}
				}
				rest = rest[n:]
			}

			vips := 0
			for _, p := range programs {
				for _, c := range customers {
					a, errA := single.st.Member(ctx, p.ID, c)
					b, errB := batched.st.Member(ctx, p.ID, c)
					if fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
						t.Errorf("program %s, customer %s: one by one %+v (%v), in batches %+v (%v)", p.Name, c, a, errA, b, errB)
					}
					if a.TierCode == "vip" {
						vips++
					}
					la, errA := single.st.Ledger(ctx, p.ID, c, "", 1000)
					lb, errB := batched.st.Ledger(ctx, p.ID, c, "", 1000)
					if errA != nil || errB != nil || len(la) != len(lb) {
						t.Errorf("program %s, customer %s: ledger of %d entries one by one, %d in batches (%v, %v)", p.Name, c, len(la), len(lb), errA, errB)
						continue
					}
					for i := range la {
						la[i].ID, lb[i].ID = "", ""
						if fmt.Sprint(la[i]) != fmt.Sprint(lb[i]) {
							t.Errorf("program %s, customer %s, entry %d: one by one %+v, in batches %+v", p.Name, c, i, la[i], lb[i])
						}
					}
				}
				for _, id := range purchases {
					a, errA := single.st.PurchaseEarning(ctx, p.ID, id)
					b, errB := batched.st.PurchaseEarning(ctx, p.ID, id)
					if fmt.Sprint(a, errA) != fmt.Sprint(b, errB) {
						t.Errorf("program %s, purchase %s: earned one by one %+v (%v), in batches %+v (%v)", p.Name, id, a, errA, b, errB)
					}
				}
			}
			// Batches commit their events in customer order, not stream
			// order: the same events, each with the balance it had one by
			// one.
			key := func(evs []platformevents.Event) []string {
				out := make([]string, len(evs))
				for i, e := range evs {
					out[i] = e.Subject + fmt.Sprintf(" %x", e.Payload)
				}
				slices.Sort(out)
				return out
			}
			if a, b := key(single.out.evs), key(batched.out.evs); !slices.Equal(a, b) {
				t.Errorf("events differ: %d one by one, %d in batches", len(a), len(b))
			}
			if vips == 0 {
				t.Error("nobody reached VIP: the comparison does not cover tier changes")
			}
			t.Logf("%d messages, %d batches, %d events published, %d VIP memberships", len(stream), batches, len(single.out.evs), vips)
		})
	}
}
