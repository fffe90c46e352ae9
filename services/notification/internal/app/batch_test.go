package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// TestBatchesMatchOneByOne applies the same customer events to two
// services, one event per transaction and in consumer batches, and finds
// every customer's read model, consents, messages and announced failures
// the same: redeliveries (within a batch and across), a created event
// replayed under another id, imported customers (no welcome), consents
// given before and after the stored ones, updates after creation within
// one batch, and late events of a merged and of an erased customer.
func TestBatchesMatchOneByOne(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			other := testinfra.SQLiteURL(t)
			if d.Name == "postgres" {
				other = testinfra.PostgresURL(t)
			}
			single, batched := newFixture(t, d.URL), newFixture(t, other)
			for _, f := range []*fixture{&single, &batched} {
				f.svc = app.NewService(f.store, app.Options{Now: func() time.Time { return now }})
			}

			rng := rand.New(rand.NewPCG(22, 7))
			customers := make([]string, 40)
			for i := range customers {
				customers[i] = newID(t)
			}
			channels := []domain.Channel{domain.ChannelEmail, domain.ChannelSMS, domain.ChannelWeChat}
			statuses := []domain.ConsentStatus{domain.ConsentOptedIn, domain.ConsentOptedOut}
			answer := func(id string) domain.Consent {
				return domain.Consent{CustomerID: id, Channel: channels[rng.IntN(len(channels))], Status: statuses[rng.IntN(2)],
					Source: fmt.Sprintf("s%d", rng.IntN(1000)), UpdateTime: now.Add(-time.Duration(rng.IntN(10)) * time.Minute)}
			}
			profile := func(i int, version int) domain.Recipient {
				r := domain.Recipient{CustomerID: customers[i], Name: fmt.Sprintf("customer %d v%d", i, version), Locale: "en",
					BirthMonth: 1 + i%12, BirthDay: 1 + i%28}
				switch i % 5 {
				case 0: // no address at all
				case 1:
					r.Phone = fmt.Sprintf("+86138%08d", i)
				default:
					r.Email = fmt.Sprintf("c%d.v%d@example.com", i, version)
				}
				return r
			}
			merged, survivor, erased := customers[7], customers[2], customers[6]
			stage := func(late bool) []app.CustomerEvent {
				// Each customer's events in order, as the stream keeps them,
				// interleaved with the others'.
				var queues [][]app.CustomerEvent
				for i := range customers {
					var evs []app.CustomerEvent
					add := func(ev app.CustomerEvent) {
						evs = append(evs, ev)
						if rng.IntN(8) == 0 { // redelivered at once
							evs = append(evs, ev)
						}
					}
					var consents []domain.Consent
					for range rng.IntN(3) {
						consents = append(consents, answer(customers[i]))
					}
					if !late || i == 7 || i == 6 || i < 2 { // the merged and erased ones are created again, late
						created := app.CustomerCreated(newID(t), profile(i, 0), consents, i%4 != 3)
						add(created)
						if rng.IntN(6) == 0 { // replayed under another event id
							created.EventID = newID(t)
							add(created)
						}
					}
					for v := range rng.IntN(3) {
						add(app.CustomerUpdated(newID(t), profile(i, v+1)))
					}
					for range rng.IntN(3) {
						add(app.ConsentChanged(newID(t), answer(customers[i])))
					}
					if len(evs) > 0 {
						queues = append(queues, evs)
					}
				}
				var evs []app.CustomerEvent
				for len(queues) > 0 {
					q := rng.IntN(len(queues))
					evs = append(evs, queues[q][0])
					if queues[q] = queues[q][1:]; len(queues[q]) == 0 {
						queues = slices.Delete(queues, q, q+1)
					}
				}
				if len(evs) > 10 { // redelivered later
					evs = append(evs, evs[3], evs[7])
				}
				return evs
			}
			apply := func(evs []app.CustomerEvent) {
				t.Helper()
				for _, ev := range evs {
					var err error
					switch ev.Kind {
					case app.KindCreated:
						err = single.svc.Customers.WelcomeCustomer(ctx, ev.EventID, ev.Recipient, ev.Consents, ev.Welcome)
					case app.KindUpdated:
						err = single.svc.Customers.UpdateRecipient(ctx, ev.EventID, ev.Recipient)
					case app.KindConsentChanged:
						err = single.svc.Customers.ChangeConsent(ctx, ev.EventID, ev.Consents[0])
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				for len(evs) > 0 {
					n := min(len(evs), 1+rng.IntN(64))
					if err := batched.svc.Customers.UpdateCustomers(ctx, evs[:n]); err != nil {
						t.Fatal(err)
					}
					evs = evs[n:]
				}
			}

			apply(stage(false))
			for _, f := range []fixture{single, batched} {
				if err := f.svc.Customers.MergeCustomers(ctx, "0190a6f0-0000-7000-8000-000000000001", domain.Merge{MergedID: merged, SurvivorID: survivor, At: now},
					profile(2, 9), nil); err != nil {
					t.Fatal(err)
				}
				if err := f.svc.Customers.EraseCustomer(ctx, "0190a6f0-0000-7000-8000-000000000002", domain.Erasure{CustomerID: erased, EraseTime: now}); err != nil {
					t.Fatal(err)
				}
			}
			apply(stage(true))

			compare := func(what string, a, b any) {
				t.Helper()
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("%s: one by one %v\nin batches %v", what, a, b)
				}
			}
			welcomes := 0
			for _, id := range customers {
				ra, okA, errA := single.store.Recipient(ctx, id)
				rb, okB, errB := batched.store.Recipient(ctx, id)
				if errA != nil || errB != nil {
					t.Fatal(errA, errB)
				}
				compare("recipient "+id, fmt.Sprint(okA, ra), fmt.Sprint(okB, rb))
				compare("consents of "+id, consentRows(t, single, id), consentRows(t, batched, id))
				ma, mb := messageSummary(t, single, id), messageSummary(t, batched, id)
				compare("messages of "+id, ma, mb)
				welcomes += len(ma)
				if id == merged || id == erased {
					if okA {
						t.Errorf("customer %s merged or erased has a read model", id)
					}
				}
			}
			failures := func(f fixture) []string {
				var out []string
				for _, ev := range f.failedEvents(t) {
					out = append(out, ev.GetCustomerId()+" "+ev.GetReason())
				}
				slices.Sort(out)
				return out
			}
			compare("MessageFailed events", failures(single), failures(batched))
			compare("handled events", inboxCount(t, single), inboxCount(t, batched))
			t.Logf("%d messages, %d MessageFailed, %d events handled", welcomes, len(failures(single)), inboxCount(t, single))
			if welcomes < 10 || len(failures(single)) == 0 {
				t.Errorf("%d welcome messages, %d failures: the comparison proves little", welcomes, len(failures(single)))
			}
		})
	}
}

// consentRows returns every stored answer of a customer, as text.
func consentRows(t *testing.T, f fixture, id string) string {
	t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT channel, status, source, update_time FROM consents WHERE customer_id = ? ORDER BY channel`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var ch, status, source string
		var at int64
		if err := rows.Scan(&ch, &status, &source, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s/%s/%d ", ch, status, source, at)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// messageSummary returns what a customer's messages say, without their ids.
func messageSummary(t *testing.T, f fixture, id string) []string {
	t.Helper()
	var out []string
	for _, m := range f.messages(t, id) {
		out = append(out, fmt.Sprintf("%s %s %s %s %q %q %q %s %s %s", m.Template, m.Channel, m.Status, m.Address, m.Subject, m.Body,
			m.StatusReason+m.FailureReason, m.IdempotencyKey, m.Locale, m.CreateTime))
	}
	slices.Sort(out)
	return out
}

func inboxCount(t *testing.T, f fixture) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inbox WHERE consumer = ?`, app.ConsumerCustomers).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEnrolmentsBatchesMatchOneByOne records the same loyalty enrolments in
// two services, one event per transaction through Notify and in consumer
// batches through AddMembers, and finds the same memberships and handled
// events: redeliveries within and across batches, an enrolment replayed
// under another event id, a tier recorded before the enrolment (kept),
// enrolments of a merged customer (the survivor's) and of an erased one
// (none), and one without a program (nothing).
func TestEnrolmentsBatchesMatchOneByOne(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
			other := testinfra.SQLiteURL(t)
			if d.Name == "postgres" {
				other = testinfra.PostgresURL(t)
			}
			single, batched := newFixture(t, d.URL), newFixture(t, other)
			customers := make([]string, 30)
			for i := range customers {
				customers[i] = newID(t)
			}
			merged, survivor, erased, vip := customers[3], customers[4], customers[5], customers[6]
			programs := []string{"0190a6f0-0000-7000-8000-0000000000a1", "0190a6f0-0000-7000-8000-0000000000a2"}
			for _, f := range []*fixture{&single, &batched} {
				f.svc = app.NewService(f.store, app.Options{Now: func() time.Time { return now }})
				if err := f.svc.Customers.MergeCustomers(ctx, "0190a6f0-0000-7000-8000-000000000011", domain.Merge{MergedID: merged, SurvivorID: survivor, At: now},
					domain.Recipient{CustomerID: survivor, Name: "survivor"}, nil); err != nil {
					t.Fatal(err)
				}
				if err := f.svc.Customers.EraseCustomer(ctx, "0190a6f0-0000-7000-8000-000000000012", domain.Erasure{CustomerID: erased, EraseTime: now}); err != nil {
					t.Fatal(err)
				}
				// A tier change overtook the enrolment.
				if err := f.svc.Triggers.Notify(ctx, app.ConsumerLoyalty, "0190a6f0-0000-7000-8000-000000000013", vip,
					&app.Membership{ProgramID: programs[0], TierCode: "vip", TierName: "VIP"}); err != nil {
					t.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(22, 11))
			var evs []app.Enrolment
			for _, c := range customers {
				for _, p := range programs {
					ev := app.Enrolment{EventID: newID(t), Member: domain.ProgramMember{CustomerID: c, ProgramID: p, TierCode: "normal", TierName: "Normal"}}
					evs = append(evs, ev)
					switch rng.IntN(8) {
					case 0: // redelivered at once
						evs = append(evs, ev)
					case 1: // replayed under another event id, with another tier
						ev.EventID, ev.Member.TierCode = newID(t), "silver"
						evs = append(evs, ev)
					}
				}
			}
			evs = append(evs, evs[4], evs[9], app.Enrolment{EventID: newID(t), Member: domain.ProgramMember{CustomerID: customers[0]}})
			for _, ev := range evs {
				m := ev.Member
				if err := single.svc.Triggers.Notify(ctx, app.ConsumerLoyalty, ev.EventID, m.CustomerID,
					&app.Membership{ProgramID: m.ProgramID, TierCode: m.TierCode, TierName: m.TierName, Joined: true}); err != nil {
					t.Fatal(err)
				}
			}
			batches := 0
			for rest := evs; len(rest) > 0; batches++ {
				n := min(len(rest), 1+rng.IntN(20))
				if err := batched.svc.Triggers.AddMembers(ctx, rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			members := func(f fixture) []string {
				t.Helper()
				rows, err := f.db.Query(ctx, `SELECT program_id, customer_id, tier_code, tier_name FROM program_members`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var p, c, code, name string
					if err := rows.Scan(&p, &c, &code, &name); err != nil {
						t.Fatal(err)
					}
					out = append(out, strings.Join([]string{p, c, code, name}, " "))
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				slices.Sort(out)
				return out
			}
			a, b := members(single), members(batched)
			if !slices.Equal(a, b) {
				t.Errorf("memberships one by one:\n%s\nin batches:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
			// Everyone but the merged and the erased customer in both
			// programs, the VIP kept.
			if want := 2 * (len(customers) - 2); len(a) != want || !slices.Contains(a, programs[0]+" "+vip+" vip VIP") {
				t.Errorf("%d memberships, want %d with the VIP kept: the comparison proves little\n%s", len(a), want, strings.Join(a, "\n"))
			}
			handled := func(f fixture) int {
				var n int
				if err := f.db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox WHERE consumer = ?`, app.ConsumerLoyalty).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if ha, hb := handled(single), handled(batched); ha != hb {
				t.Errorf("%d events handled one by one, %d in batches", ha, hb)
			}
			t.Logf("%d enrolments in %d batches, %d memberships", len(evs), batches, len(a))
		})
	}
}
