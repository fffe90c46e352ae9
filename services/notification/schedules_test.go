package notification_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// TestBirthdayGreetingOnce: with a fake clock, a customer in Asia/Shanghai
// born on 1990-02-14 gets exactly one birthday greeting, at 09:00 local
// time on 14 February, though two replicas scan (on their own every 50ms,
// and twice more each on request). A customer reachable by SMS only who
// opted out of SMS gets none (the attempt is suppressed); one with an
// email address as well gets it by email. A customer in New York whose
// 14th has not begun, and one born on the 15th, get nothing.
func TestBirthdayGreetingOnce(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			natsURL := testinfra.EmbeddedNATS(t)
			clock := newClock(time.Date(2025, 2, 14, 0, 30, 0, 0, shanghai))
			configure := func(cfg *notification.Config) {
				cfg.Now = clock.Now
				cfg.MorningHour = 9
				cfg.QuietHours = "21:00-08:00"
				cfg.CapPerDay = 2
				cfg.ScanInterval = 50 * time.Millisecond
				cfg.DispatchInterval = 50 * time.Millisecond
			}
			a := startConfigured(t, natsURL, d.URL, t.Output(), configure)
			a.messages(t, newID(t)) // migrated and serving before the second replica starts
			b := startConfigured(t, natsURL, d.URL, t.Output(), configure)
			a.ensureStreams(t)

			answered := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			withEmail, smsOnly, newYork, tomorrow, canary := newID(t), newID(t), newID(t), newID(t), newID(t)
			a.customer(t, &customerv1.Customer{Id: withEmail, DisplayName: "王小明", Email: "xm@example.cn", Phone: "+8613800000001",
				TimeZone: "Asia/Shanghai", Birthday: birthday(1990, 2, 14),
				Consents: []*customerv1.Consent{optOut(customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, answered)}}, true)
			a.customer(t, &customerv1.Customer{Id: smsOnly, DisplayName: "李雷", Phone: "+8613800000002", TimeZone: "Asia/Shanghai",
				Birthday: birthday(1990, 2, 14), Consents: []*customerv1.Consent{optOut(customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, answered)}}, true)
			a.customer(t, &customerv1.Customer{Id: newYork, DisplayName: "Ann", Email: "ann@example.com", Locale: "en",
				TimeZone: "America/New_York", Birthday: birthday(1985, 2, 14)}, true)
			a.customer(t, &customerv1.Customer{Id: tomorrow, DisplayName: "韩梅梅", Email: "mm@example.cn", Birthday: birthday(1990, 2, 15)}, true)
			a.customer(t, &customerv1.Customer{Id: canary, DisplayName: "canary", Email: "canary@example.cn"}, true)

			for range 2 {
				for _, h := range []*harness{a, b} {
					h.runSchedules(t)
				}
			}
			morning := time.Date(2025, 2, 14, 9, 0, 0, 0, shanghai)
			greeting := a.messagesOf(t, withEmail, 1)[0]
			if greeting.GetTemplate() != "birthday" || greeting.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED ||
				greeting.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL || !greeting.GetNotBefore().AsTime().Equal(morning) ||
				greeting.GetBody() != "王小明，祝您生日快乐！感谢您一直以来的支持。" {
				t.Errorf("greeting = %v, want a queued email for 09:00 Shanghai time", greeting)
			}
			suppressed := a.messagesOf(t, smsOnly, 1)[0]
			if suppressed.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED || suppressed.GetStatusReason() != "customer opted out of sms" {
				t.Errorf("greeting of the SMS opt-out = %v, want SUPPRESSED for the opt-out", suppressed)
			}

			// 08:30: past quiet hours, before the greeting's hour. A message
			// due now (the canary's) goes out; the greeting waits.
			clock.Set(time.Date(2025, 2, 14, 8, 30, 0, 0, shanghai))
			a.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: canary, ProgramId: "p", NewTierCode: "gold", NewTierName: "金卡"})
			testinfra.Eventually(t, waitFor, "the canary sent", func() bool {
				m := h0(a.messages(t, canary))
				return m != nil && m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
			})
			if m := a.messages(t, withEmail)[0]; m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED {
				t.Fatalf("at 08:30 the greeting is %v, want still QUEUED", m.GetStatus())
			}

			clock.Set(morning)
			var sent *notificationv1.Message
			testinfra.Eventually(t, waitFor, "the greeting sent", func() bool {
				sent = a.messages(t, withEmail)[0]
				return sent.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
			})
			if !sent.GetSendTime().AsTime().Equal(morning) {
				t.Errorf("sent at %v, want %v", sent.GetSendTime().AsTime(), morning)
			}

			// Later that day and the next, more scans on both replicas.
			for _, at := range []time.Time{morning.Add(3 * time.Hour), morning.Add(24 * time.Hour)} {
				clock.Set(at)
				for _, h := range []*harness{a, b} {
					h.runSchedules(t)
				}
			}
			if n := len(b.messages(t, withEmail)); n != 1 {
				t.Errorf("the customer has %d birthday messages, want exactly 1", n)
			}
			for _, id := range []string{smsOnly} {
				if n := len(b.messages(t, id)); n != 1 {
					t.Errorf("the SMS opt-out has %d messages, want the one suppressed", n)
				}
			}
			// New York's 14th began at 13:00 Shanghai time (the noon scan
			// was too early, the next day's found it); the 15th-born's day
			// came with the scan of the 15th.
			if n := len(b.messages(t, tomorrow)); n != 1 {
				t.Errorf("the customer born on the 15th has %d messages after the 15th's scan, want 1", n)
			}
			if n := len(b.messages(t, newYork)); n != 1 {
				t.Errorf("the New York customer has %d messages after the scans of her 14th, want 1", n)
			}
		})
	}
}

func h0(msgs []*notificationv1.Message) *notificationv1.Message {
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0]
}

// TestHolidayAndMemberDayFromLoyalty: holiday greetings come from the
// computed calendar (Spring Festival 2031 is 23 January by the lunar
// calendar; no file says so), each once, in the customer's language;
// member days are the loyalty program's, as its ProgramChanged event
// carries them (the 23rd of each month here), and reach the members of
// the program only (enrolled, or of a tier), and only those who opted in
// (they are marketing). The 18th, once hard-coded, is no member day.
func TestHolidayAndMemberDayFromLoyalty(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			clock := newClock(time.Date(2031, 1, 18, 10, 0, 0, 0, shanghai))
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.Now, cfg.MorningHour = clock.Now, 9
				cfg.ScanInterval, cfg.DispatchInterval = time.Hour, 50*time.Millisecond
			})
			h.ensureStreams(t)
			zh, en, member, enrolled := newID(t), newID(t), newID(t), newID(t)
			at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			h.customer(t, &customerv1.Customer{Id: zh, DisplayName: "张伟", Email: "zw@example.cn"}, true)
			h.customer(t, &customerv1.Customer{Id: en, DisplayName: "Bob", Email: "bob@example.com", Locale: "en",
				Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, at)}}, true)
			h.customer(t, &customerv1.Customer{Id: member, DisplayName: "刘洋", Phone: "+8613800000003"}, true)
			h.customer(t, &customerv1.Customer{Id: enrolled, DisplayName: "Eve", Email: "eve@example.com", Locale: "en",
				Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, at)}}, true)
			program := newID(t)
			h.publishAs(t, loyaltyv1.SubjectProgramChanged, &loyaltyv1.ProgramChanged{ProgramId: program, Name: "Gold day",
				TimeZone: "Asia/Shanghai", UpdateTime: timestamppb.New(at),
				MemberDays: []*loyaltyv1.MemberDay{{Id: "monthly", MonthDay: 23, MultiplierPercent: 200}}})
			// An older announcement of the program (a replay) changes nothing.
			h.publishAs(t, loyaltyv1.SubjectProgramChanged, &loyaltyv1.ProgramChanged{ProgramId: program, Name: "Stale",
				UpdateTime: timestamppb.New(at.Add(-time.Hour)), MemberDays: []*loyaltyv1.MemberDay{{Id: "old", MonthDay: 18}}})
			// Bob and Liu become members by a tier change; Eve by enrolling.
			for _, id := range []string{en, member} {
				h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: id, ProgramId: program, NewTierCode: "gold", NewTierName: "Gold"})
			}
			h.publishAs(t, loyaltyv1.SubjectMemberEnrolled, &loyaltyv1.MemberEnrolled{CustomerId: enrolled, ProgramId: program, TierCode: "normal", TierName: "Normal"})
			h.messagesOf(t, en, 1)
			h.messagesOf(t, member, 1)

			// The 18th: no member day any more.
			run := func() *notificationv1.RunSchedulesResult { return h.runSchedules(t) }
			if res := run(); res.GetMessagesCreated() != 0 {
				t.Errorf("the scan of 18 January created %d messages, want none", res.GetMessagesCreated())
			}

			clock.Set(time.Date(2031, 1, 23, 10, 0, 0, 0, shanghai))
			// The enrollment is handled in its own time: scan until it shows.
			testinfra.Eventually(t, waitFor, "the enrolled member's notice", func() bool {
				run()
				return byTemplate(h.messages(t, enrolled), "member_day") != nil
			})
			run()
			zhMsgs := h.messagesOf(t, zh, 1)
			if m := zhMsgs[0]; m.GetTemplate() != "holiday" || m.GetSubject() != "春节快乐" || m.GetBody() != "张伟，祝您春节快乐，阖家幸福！" {
				t.Errorf("Chinese holiday greeting = %v", m)
			}
			enMsgs := h.messagesOf(t, en, 3)
			if m := byTemplate(enMsgs, "holiday"); m == nil || m.GetSubject() != "Happy Spring Festival" {
				t.Errorf("English holiday greeting = %v", m)
			}
			if m := byTemplate(enMsgs, "member_day"); m == nil || m.GetSubject() != "Member day: Gold day" ||
				m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED {
				t.Errorf("member day notice to the opted-in member = %v", m)
			}
			if m := byTemplate(h.messagesOf(t, enrolled, 2), "member_day"); m.GetSubject() != "Member day: Gold day" {
				t.Errorf("member day notice to the enrolled member = %v", m)
			}
			memberMsgs := h.messagesOf(t, member, 3)
			if m := byTemplate(memberMsgs, "member_day"); m == nil || m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED ||
				m.GetStatusReason() != "customer has not opted in to sms" {
				t.Errorf("member day notice without opt-in = %v, want SUPPRESSED", m)
			}
			if byTemplate(zhMsgs, "member_day") != nil {
				t.Error("a customer outside the program got its member day notice")
			}
		})
	}
}

// TestDatedGreetingSkippedPastItsDay: a greeting says "today", so it goes
// out on its day in the customer's time zone or not at all. One queued
// for 09:00 on New Year's Day that could not go out that day (the service
// was busy until 23:30, inside quiet hours 21:00-08:00) is skipped, not
// sent on 2 January; a Spring Festival scan at 22:00, when the rest of the
// day is quiet hours, keeps its greeting as skipped and says so in the
// run's result. Neither is sent the next morning.
func TestDatedGreetingSkippedPastItsDay(t *testing.T) {
	d := testinfra.Databases(t)[0]
	clock := newClock(time.Date(2026, 1, 1, 8, 30, 0, 0, shanghai))
	h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
		cfg.Now, cfg.MorningHour, cfg.QuietHours = clock.Now, 9, "21:00-08:00"
		cfg.ScanInterval, cfg.DispatchInterval = time.Hour, 50*time.Millisecond
	})
	h.ensureStreams(t)
	greeted, canary := newID(t), newID(t)
	h.customer(t, &customerv1.Customer{Id: greeted, DisplayName: "王芳", Email: "wf@example.cn", TimeZone: "Asia/Shanghai"}, true)
	h.customer(t, &customerv1.Customer{Id: canary, DisplayName: "canary", Email: "canary@example.cn"}, true)
	run := func() *notificationv1.RunSchedulesResult { return h.runSchedules(t) }
	if res := run(); res.GetMessagesCreated() != 2 || res.GetGreetingsSkipped() != 0 {
		t.Fatalf("New Year's scan at 08:30 = %v, want 2 greetings queued for 09:00", res)
	}
	newYear := byTemplate(h.messagesOf(t, greeted, 1), "holiday")

	// 23:30: the greeting is due but it is quiet until 08:00 on the 2nd.
	clock.Set(time.Date(2026, 1, 1, 23, 30, 0, 0, shanghai))
	testinfra.Eventually(t, waitFor, "the New Year greeting skipped", func() bool {
		m := byTemplate(h.messages(t, greeted), "holiday")
		return m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED
	})
	if m := byTemplate(h.messages(t, greeted), "holiday"); m.GetId() != newYear.GetId() ||
		m.GetStatusReason() != "dated greeting skipped: its day ended before it could go out" {
		t.Errorf("New Year greeting = %v, want SUPPRESSED as having missed its day", m)
	}

	// Spring Festival, 22:00: what is left of the day is quiet hours.
	clock.Set(time.Date(2026, 2, 17, 22, 0, 0, 0, shanghai))
	if res := run(); res.GetMessagesCreated() != 0 || res.GetGreetingsSkipped() != 2 {
		t.Errorf("Spring Festival scan at 22:00 = %v, want 0 created and 2 skipped", res)
	}
	if res := run(); res.GetMessagesCreated() != 0 || res.GetGreetingsSkipped() != 0 {
		t.Errorf("the scan again = %v, want nothing counted twice", res)
	}

	// The next morning: a message due now (the canary's) goes out; the
	// greetings do not.
	clock.Set(time.Date(2026, 2, 18, 9, 0, 0, 0, shanghai))
	h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: canary, ProgramId: "p", NewTierCode: "gold", NewTierName: "金卡"})
	testinfra.Eventually(t, waitFor, "the canary sent", func() bool {
		m := byTemplate(h.messages(t, canary), "tier_changed")
		return m != nil && m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
	})
	msgs := h.messagesOf(t, greeted, 2)
	for _, m := range msgs {
		if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED {
			t.Errorf("greeting %s (%s) is %v on the next day, want SUPPRESSED", m.GetBody(), m.GetTemplate(), m.GetStatus())
		}
	}
}
