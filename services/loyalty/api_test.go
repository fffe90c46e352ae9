package loyalty_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
)

func TestProgramsMembersAndLedger(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		ctx := context.Background()
		c := h.client

		// Bad programs name their fields.
		_, err := c.CreateProgram(ctx, &loyaltyv1.CreateProgramRequest{})
		wantInvalid(t, "no program", err, "program")
		_, err = c.CreateProgram(ctx, &loyaltyv1.CreateProgramRequest{Program: testProgram(func(p *loyaltyv1.Program) {
			p.Tiers[2].QualifyPoints = 10
		})})
		wantInvalid(t, "descending tiers", err, "program.tiers[2].qualify_points")
		_, err = c.CreateProgram(ctx, &loyaltyv1.CreateProgramRequest{Program: testProgram(func(p *loyaltyv1.Program) { p.TimeZone = "Nowhere/City" })})
		wantInvalid(t, "bad zone", err, "program.time_zone")

		// Create is idempotent by request id.
		req := &loyaltyv1.CreateProgramRequest{Program: testProgram(nil), RequestId: newID(t)}
		first, err := c.CreateProgram(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.CreateProgram(ctx, req)
		if err != nil || again.GetProgram().GetId() != first.GetProgram().GetId() {
			t.Fatalf("same request id created %v then %v (%v)", first.GetProgram().GetId(), again.GetProgram().GetId(), err)
		}
		prog := first.GetProgram()
		got, err := c.GetProgram(ctx, &loyaltyv1.GetProgramRequest{Id: prog.GetId()})
		if err != nil || got.GetProgram().GetName() != "会员计划" || len(got.GetProgram().GetTiers()) != 3 ||
			got.GetProgram().GetMemberDays()[0].GetWeekday() != 3 {
			t.Fatalf("get program = %v, %v", got.GetProgram(), err)
		}
		list, err := c.ListPrograms(ctx, &loyaltyv1.ListProgramsRequest{})
		if err != nil || len(list.GetPrograms()) != 2 { // the default program and this one
			t.Fatalf("list programs = %d programs, %v; want 2", len(list.GetPrograms()), err)
		}
		_, err = c.GetProgram(ctx, &loyaltyv1.GetProgramRequest{Id: newID(t)})
		wantCode(t, "unknown program", err, codes.NotFound)

		// Update by mask: only the named field changes.
		clock.Set(t0.Add(time.Minute))
		upd, err := c.UpdateProgram(ctx, &loyaltyv1.UpdateProgramRequest{
			Program:    &loyaltyv1.Program{Id: prog.GetId(), WelcomePoints: 80, Name: "ignored"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"welcome_points"}},
		})
		if err != nil || upd.GetProgram().GetWelcomePoints() != 80 || upd.GetProgram().GetName() != "会员计划" {
			t.Fatalf("update = %v, %v", upd.GetProgram(), err)
		}
		// A stale etag is refused; the current one is accepted.
		_, err = c.UpdateProgram(ctx, &loyaltyv1.UpdateProgramRequest{
			Program:    &loyaltyv1.Program{Id: prog.GetId(), WelcomePoints: 1, Etag: prog.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"welcome_points"}},
		})
		wantCode(t, "stale etag", err, codes.Aborted)
		if _, err := c.UpdateProgram(ctx, &loyaltyv1.UpdateProgramRequest{
			Program:    &loyaltyv1.Program{Id: prog.GetId(), WelcomePoints: 80, Etag: upd.GetProgram().GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"welcome_points"}},
		}); err != nil {
			t.Fatalf("update with the current etag: %v", err)
		}
		_, err = c.UpdateProgram(ctx, &loyaltyv1.UpdateProgramRequest{
			Program: &loyaltyv1.Program{Id: prog.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nope"}},
		})
		wantInvalid(t, "unknown mask field", err, "update_mask")

		// Enrollment: member number, welcome bonus, idempotent.
		customer := newID(t)
		_, err = c.EnrollMember(ctx, &loyaltyv1.EnrollMemberRequest{ProgramId: prog.GetId(), CustomerId: "x"})
		wantInvalid(t, "bad customer", err, "customer_id")
		acc := h.enroll(t, prog.GetId(), customer)
		if acc.GetMemberNumber() == "" || acc.GetPointsBalance() != 80 || acc.GetTierCode() != "normal" || acc.GetTierName() != "Normal" ||
			acc.GetStatus() != loyaltyv1.MemberStatus_MEMBER_STATUS_ACTIVE || acc.GetNextTierCode() != "silver" || acc.GetPointsToNextTier() != 1000 {
			t.Fatalf("enrolled account = %v", acc)
		}
		if !acc.GetCreateTime().AsTime().Equal(t0.Add(time.Minute)) {
			t.Errorf("join time = %v, want the clock's %v", acc.GetCreateTime().AsTime(), t0.Add(time.Minute))
		}
		again2 := h.enroll(t, prog.GetId(), customer)
		if again2.GetMemberNumber() != acc.GetMemberNumber() || again2.GetPointsBalance() != 80 {
			t.Fatalf("enrolling again = %v, want the same membership with 80 points", again2)
		}
		other := h.enroll(t, prog.GetId(), newID(t))
		if other.GetMemberNumber() == acc.GetMemberNumber() {
			t.Fatalf("two members share number %s", acc.GetMemberNumber())
		}
		_, err = c.GetLoyaltyAccount(ctx, &loyaltyv1.GetLoyaltyAccountRequest{ProgramId: prog.GetId(), CustomerId: newID(t)})
		wantCode(t, "non-member", err, codes.NotFound)

		// Manual adjustments name who and why; the balance is the ledger's sum.
		_, err = c.AdjustPoints(ctx, &loyaltyv1.AdjustPointsRequest{ProgramId: prog.GetId(), CustomerId: customer, Points: 5, Reason: "r", RequestId: "a"})
		wantInvalid(t, "adjust without actor", err, "actor")
		_, err = c.AdjustPoints(asActor(ctx, "agent-7"), &loyaltyv1.AdjustPointsRequest{ProgramId: prog.GetId(), CustomerId: customer, Points: -81, Reason: "r", RequestId: "a"})
		wantCode(t, "debit beyond the balance", err, codes.FailedPrecondition)
		for i, pts := range []int64{30, -20, 7} {
			req := &loyaltyv1.AdjustPointsRequest{ProgramId: prog.GetId(), CustomerId: customer, Points: pts, Reason: "goodwill 补偿", RequestId: "adj-" + string(rune('a'+i))}
			e, err := c.AdjustPoints(asActor(ctx, "agent-7"), req)
			if err != nil {
				t.Fatal(err)
			}
			if e.GetEntry().GetActor() != "agent-7" || e.GetEntry().GetReason() != "goodwill 补偿" || e.GetEntry().GetKind() != loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_ADJUST {
				t.Fatalf("adjust entry = %v", e.GetEntry())
			}
			// The same request books once.
			e2, err := c.AdjustPoints(asActor(ctx, "agent-7"), req)
			if err != nil || e2.GetEntry().GetId() != e.GetEntry().GetId() {
				t.Fatalf("repeated adjustment = %v, %v; want entry %s", e2.GetEntry(), err, e.GetEntry().GetId())
			}
		}
		acc = h.account(t, prog.GetId(), customer)
		entries := h.ledger(t, prog.GetId(), customer)
		var sum int64
		for _, e := range entries {
			sum += e.GetPoints()
		}
		if acc.GetPointsBalance() != 97 || sum != 97 || acc.GetLedgerTotal() != 97 || len(entries) != 4 {
			t.Fatalf("balance %d, ledger sum %d over %d entries, want 97 over 4", acc.GetPointsBalance(), sum, len(entries))
		}
		if entries[3].GetCause() != "welcome:"+customer || entries[3].GetKind() != loyaltyv1.LedgerEntryKind_LEDGER_ENTRY_KIND_EARN {
			t.Errorf("oldest entry = %v, want the welcome bonus", entries[3])
		}

		// Paging walks every entry once, newest first.
		var seen []string
		token := ""
		for {
			resp, err := c.ListLedgerEntries(ctx, &loyaltyv1.ListLedgerEntriesRequest{ProgramId: prog.GetId(), CustomerId: customer, PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range resp.GetEntries() {
				seen = append(seen, e.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(seen) != 4 || seen[0] != entries[0].GetId() || seen[3] != entries[3].GetId() {
			t.Fatalf("paged ids = %v, want %d entries in order", seen, len(entries))
		}
		_, err = c.ListLedgerEntries(ctx, &loyaltyv1.ListLedgerEntriesRequest{ProgramId: prog.GetId(), CustomerId: customer, PageToken: "garbage!"})
		wantInvalid(t, "bad page token", err, "page_token")
	})
}

func TestEarningRulesOnPurchaseEvents(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) {
			p.AutoEnroll, p.WelcomePoints = false, 0
			p.EarnRules = append(p.EarnRules, &loyaltyv1.EarnRule{Id: "spring-toys", Category: "toys", MultiplierPercent: 300,
				StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0.AddDate(0, 0, 7))})
			p.MinSpendMinor, p.OrderCapPoints, p.DayCapPoints = 1000, 800, 1000
		}))
		member, stranger := newID(t), newID(t)
		h.enroll(t, prog.GetId(), member)

		// Tuesday: books 2x, toys 3x (promo window), food 1x.
		tue := t0
		id1 := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, id1, id1, purchase(member, newID(t), tue,
			line("B1", "books", 1, 10000), line("T1", "toys", 1, 5000), line("F1", "food", 2, 2550)))
		// 100*2 + 50*3 + 51 = 401
		h.accountWhen(t, prog.GetId(), member, "401 points", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 401 })

		// Purchases are handled in parallel; each waits for the one before,
		// as the tier it reaches changes the next one's points.
		buy := func(at time.Time, want int64, lines ...*interactionv1.PurchaseLine) *loyaltyv1.LoyaltyAccount {
			t.Helper()
			id := newID(t)
			h.publish(t, interactionv1.SubjectPurchaseRecorded, id, id, purchase(member, newID(t), at, lines...))
			return h.accountWhen(t, prog.GetId(), member, "at the expected balance", func(a *loyaltyv1.LoyaltyAccount) bool {
				return a.GetLedgerTotal() == want
			})
		}
		// Below the minimum spend: nothing (the 1 point after it shows it was handled).
		buy(tue, 401, line("F2", "food", 1, 999))
		buy(tue, 411, line("F0", "food", 1, 1000))
		// Wednesday (member day 2x) in Shanghai: 500 CNY food = 1000, order cap 800.
		wed := time.Date(2025, 3, 4, 16, 30, 0, 0, time.UTC)
		buy(wed, 1211, line("F3", "food", 1, 50000))
		// Now silver (1.2x): same day, 500 CNY = 1200, order cap 800, day cap 1000 leaves 200.
		buy(wed.Add(time.Hour), 1411, line("F4", "food", 1, 50000))
		// After the promo window toys earn 1x again, silver 1.2x: 20 CNY = 24.
		clock.Set(t0.AddDate(0, 0, 10))
		acc := buy(t0.AddDate(0, 0, 9), 1435, line("T2", "toys", 1, 2000))
		if acc.GetPointsBalance() != 1435 || acc.GetPendingPoints() != 0 {
			t.Errorf("balance %d, pending %d; want 1435 spendable", acc.GetPointsBalance(), acc.GetPendingPoints())
		}
		// 1421 window points: silver, upgraded at once.
		if acc.GetTierCode() != "silver" || acc.GetWindowSpendMinor() != 10000+5000+5100+999+1000+50000+50000+2000 {
			t.Errorf("account = %v, want silver with all spend counted", acc)
		}
		entries := h.ledger(t, prog.GetId(), member)
		var capped *loyaltyv1.LedgerEntry
		for _, e := range entries {
			if e.GetPoints() == 800 {
				capped = e
			}
		}
		if capped == nil || len(capped.GetRuleIds()) != 1 || capped.GetRuleIds()[0] != "member_day:wed" || capped.GetOrderId() == "" {
			t.Errorf("member-day entry = %v, want rule member_day:wed and the order id", capped)
		}
		// A program that does not enroll automatically ignores strangers,
		// while the default program enrolls them.
		id6 := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, id6, id6, purchase(stranger, newID(t), tue, line("F", "food", 1, 10000)))
		h.accountWhen(t, "", stranger, "credited in the default program", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 100 })
		_, err := h.client.GetLoyaltyAccount(context.Background(), &loyaltyv1.GetLoyaltyAccountRequest{ProgramId: prog.GetId(), CustomerId: stranger})
		wantCode(t, "stranger in a program without auto-enrollment", err, codes.NotFound)
	})
}

// TestRedeliveredReplayedAndReturnedPurchase is the acceptance test
// for idempotency: a redelivered or replayed purchase event never credits
// twice, and a purchase followed by its return leaves the balance where it
// was.
func TestRedeliveredReplayedAndReturnedPurchase(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		prog := h.createProgram(t, testProgram(nil))
		customer := newID(t)
		before := h.enroll(t, prog.GetId(), customer).GetPointsBalance() // the welcome bonus
		interaction := newID(t)
		p := purchase(customer, interaction, t0, line("B1", "books", 2, 5000), line("F1", "food", 3, 3000))
		want := before + 2*50*2 + 90

		eventID := newID(t)
		// Redelivered: the same event twice (a new Nats-Msg-Id, so
		// JetStream's duplicate window does not hide it).
		h.publish(t, interactionv1.SubjectPurchaseRecorded, eventID, newID(t), p)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, eventID, newID(t), p)
		// Replayed: the same purchase under another event id, as a
		// republishing producer would.
		replay := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, replay, replay, p)
		// A different purchase behind them: once its points show, the
		// duplicates were handled.
		marker := newID(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, marker, marker, purchase(customer, newID(t), t0, line("F9", "food", 1, 100)))
		h.accountWhen(t, prog.GetId(), customer, "credited once", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == want+1 })
		var purchases int
		for _, e := range h.ledger(t, prog.GetId(), customer) {
			if e.GetCause() == "purchase:"+interaction {
				purchases++
			}
		}
		if purchases != 1 {
			t.Fatalf("%d ledger entries for the purchase, want 1", purchases)
		}

		// Return one book, then everything else: back to the balance before.
		ret := func(lines ...*interactionv1.PurchaseLine) {
			id := newID(t)
			var refund int64
			for _, l := range lines {
				refund += l.GetQuantity() * l.GetUnitPrice().GetAmountMinor()
			}
			h.publish(t, interactionv1.SubjectReturnRecorded, id, id, &interactionv1.ReturnRecorded{
				InteractionId: newID(t), CustomerId: customer, PurchaseInteractionId: interaction, OrderId: p.GetOrderId(),
				Refund: cny(refund), Lines: lines, OccurTime: timestamppb.New(t0.Add(time.Hour)),
			})
		}
		ret(line("B1", "books", 1, 5000))
		h.accountWhen(t, prog.GetId(), customer, "one book reversed", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == want+1-100 })
		ret(line("B1", "books", 1, 5000), line("F1", "food", 3, 3000))
		acc := h.accountWhen(t, prog.GetId(), customer, "back where it was", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == before+1 })
		if acc.GetLifetimePoints() != before+1 || acc.GetWindowSpendMinor() != 100 {
			t.Errorf("after the full return: lifetime %d, window spend %d; want %d and 100", acc.GetLifetimePoints(), acc.GetWindowSpendMinor(), before+1)
		}
	})
}

func TestEngagementPoints(t *testing.T) {
	onEveryDatabase(t, nil, func(t *testing.T, h harness, clock *fakeClock) {
		ctx := context.Background()
		prog := h.createProgram(t, testProgram(func(p *loyaltyv1.Program) { p.WelcomePoints = 0 }))
		customer := newID(t)
		survey := newID(t)
		ev := &interactionv1.SurveyAnswered{SurveyId: survey, CustomerId: customer, Kind: "csat", Score: 5, AnswerTime: timestamppb.New(t0)}
		id := newID(t)
		h.publish(t, interactionv1.SubjectSurveyAnswered, id, id, ev)
		h.publish(t, interactionv1.SubjectSurveyAnswered, id, newID(t), ev) // redelivered
		other := newID(t)
		h.publish(t, interactionv1.SubjectSurveyAnswered, other, other, ev) // replayed: same survey
		h.accountWhen(t, prog.GetId(), customer, "survey points", func(a *loyaltyv1.LoyaltyAccount) bool { return a.GetPointsBalance() == 20 })

		req := &loyaltyv1.RecordEngagementRequest{CustomerId: customer, Kind: "check_in", SourceId: "store-12/2025-03-04"}
		for range 2 {
			resp, err := h.client.RecordEngagement(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetEntries()) != 1 || resp.GetEntries()[0].GetPoints() != 5 || resp.GetEntries()[0].GetProgramId() != prog.GetId() {
				t.Fatalf("check-in entries = %v, want one of 5 points in the program", resp.GetEntries())
			}
		}
		_, err := h.client.RecordEngagement(ctx, &loyaltyv1.RecordEngagementRequest{CustomerId: customer, Kind: "like", SourceId: "x"})
		wantInvalid(t, "unknown engagement", err, "kind")
		if got := h.account(t, prog.GetId(), customer).GetPointsBalance(); got != 25 {
			t.Fatalf("balance = %d, want 20 + 5 (check-in once)", got)
		}
	})
}
