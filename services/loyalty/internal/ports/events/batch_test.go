package events_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/services/loyalty"
	eventsadapter "github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/app"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
	"github.com/guanxi-crm/guanxi/services/loyalty/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/loyalty/migrations"
)

// published keeps, in commit order, the subject and payload of every event
// a side's committed transactions published.
type published struct {
	mu  sync.Mutex
	evs []platformevents.Event
}

func (p *published) Enqueue(_ context.Context, tx *sqldb.Tx, evs ...platformevents.Event) error {
	tx.AfterCommit(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.evs = append(p.evs, evs...)
	})
	return nil
}

// TestCustomersBatchesMatchOneByOne applies the same customer events to two
// services, one message per transaction through the consumer's Handler and
// in batches through its HandleBatch, and finds every membership (number,
// status, tier, merge link), every ledger entry and every published event,
// in order, the same: redeliveries in and across batches, a creation
// replayed under another event id, a customer who was a member already, a
// customer merged before and one after its creation, an erased customer,
// two programs that enroll automatically (one with a pending welcome bonus)
// and one that does not.
func TestCustomersBatchesMatchOneByOne(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			cfg, err := loyalty.LoadConfig()
			if err != nil {
				t.Fatal(err)
			}
			program := func(id string, auto bool, welcome int64, pendingDays int) domain.Program {
				p := cfg.DefaultProgram()
				p.ID, p.Name, p.AutoEnroll, p.WelcomePoints, p.PendingDays = id, "p "+id[len(id)-4:], auto, welcome, pendingDays
				p.CreateTime, p.UpdateTime = now, now
				return p
			}
			programs := []domain.Program{
				program("01890a5d-ac96-774b-bcce-00000000a001", true, 100, 0),
				program("01890a5d-ac96-774b-bcce-00000000a002", true, 50, 7),
				program("01890a5d-ac96-774b-bcce-00000000a003", false, 500, 0),
			}
			type side struct {
				h   *events.Handlers
				svc *app.Service
				st  *sqlstore.Store
				out *published
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
				return side{h: h, svc: svc, st: st, out: out}
			}
			other := testinfra.SQLiteURL(t)
			if d.Name == "postgres" {
				other = testinfra.PostgresURL(t)
			}
			single, batched := newSide(d.URL), newSide(other)

			newID := func() string { return uuid.Must(uuid.NewV7()).String() }
			message := func(subject string, payload proto.Message) platformevents.Message {
				b, err := proto.Marshal(payload)
				if err != nil {
					t.Fatal(err)
				}
				return platformevents.Message{ID: newID(), Subject: subject, Payload: b, Time: now, NumDelivered: 1}
			}
			created := func(id string) platformevents.Message {
				return message(customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: id}})
			}
			customers := make([]string, 60)
			for i := range customers {
				customers[i] = newID()
			}
			// A member of the first program before the stream.
			member := customers[0]
			for _, s := range []side{single, batched} {
				if _, err := s.svc.Accounts.Enroll(ctx, programs[0].ID, member); err != nil {
					t.Fatal(err)
				}
			}
			mergedEarly, mergedLate, survivor, erased := customers[1], customers[2], customers[3], customers[4]
			rng := rand.New(rand.NewPCG(22, 7))
			var stream []platformevents.Message
			// Merged before its creation reached loyalty: the merge makes
			// both memberships, and the creation finds a merged member.
			stream = append(stream, message(customerv1.SubjectCustomerMerged,
				&customerv1.CustomerMerged{MergedCustomerId: mergedEarly, SurvivorCustomerId: survivor}))
			for i, c := range customers {
				m := created(c)
				stream = append(stream, m)
				switch {
				case i%7 == 0: // redelivered at once, in the same batch or the next
					stream = append(stream, m)
				case i%11 == 0 && len(stream) > 20: // redelivered later
					stream = append(stream, stream[rng.IntN(len(stream)-10)])
				case i%13 == 0: // replayed under another event id
					stream = append(stream, created(c))
				}
				switch i {
				case 20:
					stream = append(stream, message(customerv1.SubjectCustomerMerged,
						&customerv1.CustomerMerged{MergedCustomerId: mergedLate, SurvivorCustomerId: survivor}),
						created(mergedLate)) // a creation replayed after the merge
				case 30:
					stream = append(stream, message(customerv1.SubjectCustomerErased,
						&customerv1.CustomerErased{CustomerId: erased, EraseTime: timestamppb.New(now)}),
						created(erased))
				}
			}
			stream = append(stream, stream[5], stream[len(stream)-1]) // a last redelivery of each kind

			for _, m := range stream {
				if err := single.h.Customers(ctx, m); err != nil {
					t.Fatalf("one by one, %s: %v", m.Subject, err)
				}
			}
			batches := 0
			for rest := stream; len(rest) > 0; batches++ {
				n := min(len(rest), 1+rng.IntN(24))
				if err := batched.h.CustomersBatch(ctx, rest[:n]); err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
				rest = rest[n:]
			}

			welcomes := 0
			for _, p := range programs {
				for _, c := range customers {
					a, errA := single.st.Member(ctx, p.ID, c)
					b, errB := batched.st.Member(ctx, p.ID, c)
					if fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
						t.Errorf("program %s, customer %s: one by one %+v (%v), in batches %+v (%v)", p.Name, c, a, errA, b, errB)
					}
					la, errA := single.st.Ledger(ctx, p.ID, c, "", 100)
					lb, errB := batched.st.Ledger(ctx, p.ID, c, "", 100)
					if errA != nil || errB != nil || len(la) != len(lb) {
						t.Errorf("program %s, customer %s: ledger of %d entries one by one, %d in batches (%v, %v)", p.Name, c, len(la), len(lb), errA, errB)
						continue
					}
					for i := range la {
						la[i].ID, lb[i].ID = "", ""
						if fmt.Sprint(la[i]) != fmt.Sprint(lb[i]) {
							t.Errorf("program %s, customer %s, entry %d: one by one %+v, in batches %+v", p.Name, c, i, la[i], lb[i])
						}
						if la[i].Source == domain.SourceWelcome {
							welcomes++
						}
					}
				}
			}
			if len(single.out.evs) != len(batched.out.evs) {
				t.Fatalf("%d events published one by one, %d in batches", len(single.out.evs), len(batched.out.evs))
			}
			for i, a := range single.out.evs {
				b := batched.out.evs[i]
				if a.Subject != b.Subject || !bytes.Equal(a.Payload, b.Payload) {
					t.Errorf("event %d: one by one %s %x, in batches %s %x", i, a.Subject, a.Payload, b.Subject, b.Payload)
				}
			}
			// Every customer joined both automatic programs with a welcome
			// (the member the first one before the stream), but the two
			// the early merge made members of both (without one).
			if want := 2 * (len(customers) - 2); welcomes != want {
				t.Errorf("%d welcome entries, want %d: the comparison does not cover what it should", welcomes, want)
			}
			t.Logf("%d messages, %d batches, %d events published", len(stream), batches, len(single.out.evs))
		})
	}
}
