package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	eventsadapter "github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/adapters/sqlstore"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/migrations"
)

// recordingOutbox keeps the events of committed transactions.
type recordingOutbox struct {
	mu  sync.Mutex
	evs []events.Event
}

func (o *recordingOutbox) Enqueue(_ context.Context, tx *sqldb.Tx, evs ...events.Event) error {
	tx.AfterCommit(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.evs = append(o.evs, evs...)
	})
	return nil
}

// breaches returns the breach events so far.
func (o *recordingOutbox) breaches(t *testing.T) []*interactionv1.CaseSlaBreached {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*interactionv1.CaseSlaBreached
	for _, ev := range o.evs {
		if ev.Subject != interactionv1.SubjectCaseSlaBreached {
			continue
		}
		var b interactionv1.CaseSlaBreached
		if err := proto.Unmarshal(ev.Payload, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, &b)
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func shanghaiTime(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSLAOverTheWeekend opens high-priority complaints on Friday 17:55
// under a 2-hour first-response target and business hours 09:00-18:00
// Monday to Friday. The target falls due Monday 10:55: a check at
// 10:54:59 finds nothing, one at 10:55 marks the breach, escalates to the
// team manager and publishes interaction.case.sla_breached once. A case
// waiting on the customer from Monday 09:30 to 14:00 does not breach while
// it waits, and falls due 4h30 of business time later (15:25).
func TestSLAOverTheWeekend(t *testing.T) {
	for _, db := range testinfra.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			outbox := &recordingOutbox{}
			store := sqlstore.New(testinfra.OpenDB(t, db.URL, migrations.FS), outbox, eventsadapter.NewEncoder())
			clock := &fakeClock{t: shanghaiTime(t, "2025-03-07 09:00:00")}
			svc := app.New(store, &customers{resolve: func(id string) (string, error) { return id, nil }}, clock.now)

			var hours []domain.BusinessHours
			for d := 1; d <= 5; d++ {
				hours = append(hours, domain.BusinessHours{Weekday: d, Start: "09:00", End: "18:00"})
			}
			if _, err := svc.CaseSettings.CreateBusinessCalendar(ctx, domain.BusinessCalendar{ID: "cn-support", Hours: hours}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CaseSettings.CreateTeam(ctx, domain.Team{ID: "complaints", ManagerID: "mgr-zhao"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CaseSettings.CreateSLAPolicy(ctx, domain.SLAPolicy{Priority: domain.PriorityHigh, CalendarID: "cn-support",
				FirstResponseTarget: 2 * time.Hour, ResolutionTarget: 18 * time.Hour}); err != nil {
				t.Fatal(err)
			}

			clock.set(shanghaiTime(t, "2025-03-07 17:55:00"))
			open := func(subject string) domain.Case {
				t.Helper()
				c, err := svc.Cases.CreateCase(ctx, app.CreateCase{Case: domain.Case{CustomerID: customerID, Subject: subject,
					Priority: domain.PriorityHigh, TeamID: "complaints", Kind: domain.KindComplaint}})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			late, paused, answered := open("无人回应"), open("等客户回复"), open("及时回复")
			if want := shanghaiTime(t, "2025-03-10 10:55:00"); !late.FirstResponseDue.Equal(want) {
				t.Fatalf("first response due %v, want Monday 10:55 %v", late.FirstResponseDue, want)
			}
			if want := shanghaiTime(t, "2025-03-11 17:55:00"); !late.ResolutionDue.Equal(want) {
				t.Errorf("resolution due %v, want Tuesday 17:55 (5 min Friday, 9h Monday, 8h55 Tuesday)", late.ResolutionDue)
			}

			check := func(at string, wantMarked int) {
				t.Helper()
				clock.set(shanghaiTime(t, at))
				n, err := svc.Cases.CheckSLA(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n != wantMarked {
					t.Fatalf("check at %s marked %d cases, want %d", at, n, wantMarked)
				}
			}
			check("2025-03-08 12:00:00", 0) // Saturday
			check("2025-03-10 09:30:00", 0)
			if _, err := svc.Cases.UpdateCaseStatus(ctx, paused.ID, domain.StatusWaiting); err != nil {
				t.Fatal(err)
			}
			clock.set(shanghaiTime(t, "2025-03-10 10:00:00"))
			if _, err := svc.Cases.AddCaseComment(ctx, answered.ID, domain.Comment{AuthorID: "agent-li", Body: "您好，我们正在处理", CustomerVisible: true}); err != nil {
				t.Fatal(err)
			}
			check("2025-03-10 10:54:59", 0)
			if got := outbox.breaches(t); len(got) != 0 {
				t.Fatalf("breached before 10:55: %v", got)
			}
			check("2025-03-10 10:55:00", 1)
			got := outbox.breaches(t)
			if len(got) != 1 || got[0].GetCaseId() != late.ID || got[0].GetTarget() != domain.TargetFirstResponse ||
				got[0].GetEscalatedTo() != "mgr-zhao" || got[0].GetTeamId() != "complaints" ||
				!got[0].GetDueTime().AsTime().Equal(shanghaiTime(t, "2025-03-10 10:55:00")) || got[0].GetCaseNumber() != late.Number {
				t.Fatalf("breach events = %v, want one for %s (%s) due 10:55 escalated to mgr-zhao", got, late.ID, late.Number)
			}
			c, err := svc.Cases.GetCase(ctx, late.ID)
			if err != nil || !c.FirstResponseBreached || c.EscalatedTo != "mgr-zhao" || c.ResolutionBreached {
				t.Errorf("breached case = %+v, %v", c, err)
			}
			check("2025-03-10 11:30:00", 0) // marked once only; the waiting case is paused

			// The customer answers at 14:00: the clock resumes with 4h30 of
			// business time added.
			clock.set(shanghaiTime(t, "2025-03-10 14:00:00"))
			resumed, err := svc.Cases.UpdateCaseStatus(ctx, paused.ID, domain.StatusInProgress)
			if err != nil {
				t.Fatal(err)
			}
			if want := shanghaiTime(t, "2025-03-10 15:25:00"); !resumed.FirstResponseDue.Equal(want) {
				t.Fatalf("after the wait, first response due %v, want 15:25", resumed.FirstResponseDue.In(want.Location()))
			}
			check("2025-03-10 15:24:59", 0)
			check("2025-03-10 15:25:00", 1)
			if got := outbox.breaches(t); len(got) != 2 || got[1].GetCaseId() != paused.ID {
				t.Fatalf("breach events = %v, want the paused case second", got)
			}
			if c, _ := svc.Cases.GetCase(ctx, answered.ID); c.FirstResponseBreached || !c.FirstResponseAt.Equal(shanghaiTime(t, "2025-03-10 10:00:00")) {
				t.Errorf("answered case = %+v, want its first response at 10:00 and no breach", c)
			}
		})
	}
}
