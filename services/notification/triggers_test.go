package notification_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// TestEventTriggers: a resolved case tells the customer and invites them
// to the satisfaction survey; a new tier and expiring points are told; an
// A customer becoming at risk gets a win-back offer (marketing: they
// opted in), a B customer does not. An event naming a customer the
// service has not heard of yet waits for them; a redelivered event sends
// nothing twice.
func TestEventTriggers(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.DispatchInterval = 50 * time.Millisecond
				cfg.UnsubscribeSecret, cfg.PublicURL = "s", "https://crm.example.cn"
			})
			h.ensureStreams(t)
			cust, late, bClass := newID(t), newID(t), newID(t)
			at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			h.customer(t, &customerv1.Customer{Id: cust, DisplayName: "王芳", Email: "wf@example.cn",
				Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, at)}}, true)
			h.customer(t, &customerv1.Customer{Id: bClass, DisplayName: "赵四", Email: "zs@example.cn",
				Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, at)}}, true)

			resolved := &interactionv1.CaseResolved{CaseId: newID(t), CaseNumber: "C-000123", CustomerId: cust, Subject: "退货",
				Resolution: "已退款", SurveyId: newID(t), SurveyUrl: "https://survey.example.cn/s/abc"}
			ev := h.publishAs(t, interactionv1.SubjectCaseResolved, resolved)
			msgs := h.messagesOf(t, cust, 2)
			if m := byTemplate(msgs, "case_resolved"); m == nil || m.GetSubject() != "您的问题已解决（C-000123）" || m.GetBody() != "王芳，您的服务单C-000123已解决：已退款" {
				t.Errorf("case resolved message = %v", m)
			}
			if m := byTemplate(msgs, "survey_invitation"); m == nil || !strings.Contains(m.GetBody(), "https://survey.example.cn/s/abc") {
				t.Errorf("survey invitation = %v", m)
			}
			// The same event redelivered (same id), and again as a replay
			// under a new JetStream id.
			testinfra.PublishEvent(t, h.js, interactionv1.SubjectCaseResolved, resolved, ev, newID(t))

			h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: cust, ProgramId: "p1", OldTierCode: "silver", NewTierCode: "gold", NewTierName: "金卡"})
			h.publishAs(t, loyaltyv1.SubjectPointsExpiring, &loyaltyv1.PointsExpiring{CustomerId: cust, ProgramId: "p1", Points: 300, PointsBalance: 1200})
			h.publishAs(t, segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{CustomerId: cust,
				OldClass: segmentationv1.AbcClass_ABC_CLASS_A, NewClass: segmentationv1.AbcClass_ABC_CLASS_A, OldRfmSegment: "champions", NewRfmSegment: "at_risk"})
			h.publishAs(t, segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{CustomerId: bClass,
				OldClass: segmentationv1.AbcClass_ABC_CLASS_B, NewClass: segmentationv1.AbcClass_ABC_CLASS_C, OldRfmSegment: "loyal", NewRfmSegment: "at_risk"})

			// A case resolved for a customer created only afterwards.
			h.publishAs(t, interactionv1.SubjectCaseResolved, &interactionv1.CaseResolved{CaseNumber: "C-000124", CustomerId: late, SurveyUrl: "https://survey.example.cn/s/late"})
			h.customer(t, &customerv1.Customer{Id: late, DisplayName: "Late", Phone: "+8613800000009"}, true)
			lateMsgs := h.messagesOf(t, late, 2)
			if byTemplate(lateMsgs, "survey_invitation") == nil {
				t.Errorf("late customer's messages = %v", lateMsgs)
			}

			msgs = h.messagesOf(t, cust, 5)
			if m := byTemplate(msgs, "tier_changed"); m == nil || m.GetBody() != "王芳，您的会员等级已更新为金卡。" {
				t.Errorf("tier message = %v", m)
			}
			if m := byTemplate(msgs, "points_expiring"); m == nil || !strings.Contains(m.GetBody(), "300积分") || !strings.Contains(m.GetBody(), "1200") {
				t.Errorf("points message = %v", m)
			}
			winBack := byTemplate(msgs, "win_back")
			if winBack == nil || !strings.Contains(winBack.GetBody(), "https://crm.example.cn/unsubscribe?token=") {
				t.Errorf("win-back offer = %v", winBack)
			}
			testinfra.Eventually(t, waitFor, "all sent", func() bool {
				for _, m := range h.messages(t, cust) {
					if m.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SENT {
						return false
					}
				}
				return true
			})
			if n := len(h.messages(t, bClass)); n != 0 {
				t.Errorf("a B customer at risk got %d messages, want none", n)
			}
		})
	}
}

// fakeCustomers is the customer service's SetConsent, recording calls.
type fakeCustomers struct {
	customerv1.UnimplementedCustomerServiceServer
	mu    sync.Mutex
	calls []*customerv1.SetConsentRequest
	actor string
}

func (f *fakeCustomers) SetConsent(ctx context.Context, req *customerv1.SetConsentRequest) (*customerv1.SetConsentResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-guanxi-actor")) > 0 {
		f.actor = md.Get("x-guanxi-actor")[0]
	}
	return &customerv1.SetConsentResponse{Customer: &customerv1.Customer{Id: req.GetCustomerId()}}, nil
}

func startFakeCustomers(t *testing.T) (*fakeCustomers, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCustomers{}
	srv := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return f, l.Addr().String()
}

// TestProtections: quiet hours in the customer's zone defer a message to
// the morning (not drop it); the frequency cap suppresses the third
// message of a day on a channel (in Redis on PostgreSQL when configured,
// in the database on SQLite) but not a reply to a resolved case; an
// unsubscribe link records the opt-out here and in the customer service,
// after which marketing on that channel is suppressed.
func TestProtections(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			customers, customerAddr := startFakeCustomers(t)
			clock := newClock(time.Date(2025, 3, 10, 23, 0, 0, 0, shanghai))
			var redisURL, prefix string
			if d.Name == "postgres" && testinfra.RedisURL(t) != "" {
				redisURL, prefix = testinfra.RedisURL(t), testinfra.UniqueName("guanxi-test-")+":"
			}
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.Now, cfg.QuietHours, cfg.CapPerDay = clock.Now, "21:00-08:00", 2
				cfg.RedisURL, cfg.RedisPrefix = redisURL, prefix
				cfg.CustomerAddr = customerAddr
				cfg.UnsubscribeSecret, cfg.PublicURL = "unsub-secret", "https://crm.example.cn"
				cfg.DispatchInterval = 50 * time.Millisecond
			})
			h.ensureStreams(t)
			cust, london := newID(t), newID(t)
			at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			h.customer(t, &customerv1.Customer{Id: cust, DisplayName: "陈晨", Email: "cc@example.cn", TimeZone: "Asia/Shanghai",
				Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, at)}}, true)
			h.customer(t, &customerv1.Customer{Id: london, DisplayName: "Liz", Email: "liz@example.co.uk", Locale: "en", TimeZone: "Europe/London"}, true)

			// 23:00 in Shanghai is 15:00 in London.
			h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: cust, ProgramId: "p", NewTierCode: "gold", NewTierName: "金卡"})
			h.publishAs(t, loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{CustomerId: london, ProgramId: "p", NewTierCode: "gold", NewTierName: "Gold"})
			testinfra.Eventually(t, waitFor, "London's message sent", func() bool {
				m := h0(h.messages(t, london))
				return m != nil && m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT
			})
			var deferred *notificationv1.Message
			testinfra.Eventually(t, waitFor, "the Shanghai message deferred", func() bool {
				deferred = h0(h.messages(t, cust))
				return deferred != nil && deferred.GetStatusReason() != ""
			})
			morning := time.Date(2025, 3, 11, 8, 0, 0, 0, shanghai)
			if deferred.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED ||
				deferred.GetStatusReason() != "deferred: quiet hours 21:00-08:00 Asia/Shanghai" || !deferred.GetNotBefore().AsTime().Equal(morning) {
				t.Errorf("message at 23:00 = %v, want QUEUED until 08:00", deferred)
			}
			clock.Set(morning)
			testinfra.Eventually(t, waitFor, "the deferred message sent at 08:00", func() bool {
				m := h.get(t, deferred.GetId())
				return m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SENT && m.GetSendTime().AsTime().Equal(morning)
			})

			// The tier message was the first of the day; two more, then a
			// case reply.
			for i := range 2 {
				h.publishAs(t, loyaltyv1.SubjectPointsExpiring, &loyaltyv1.PointsExpiring{CustomerId: cust, ProgramId: "p", Points: int64(100 + i)})
			}
			h.publishAs(t, interactionv1.SubjectCaseResolved, &interactionv1.CaseResolved{CaseNumber: "C-9", CustomerId: cust})
			var msgs []*notificationv1.Message
			testinfra.Eventually(t, waitFor, "four messages handled", func() bool {
				msgs = h.messages(t, cust)
				if len(msgs) != 4 {
					return false
				}
				for _, m := range msgs {
					if m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED {
						return false
					}
				}
				return true
			})
			counts := map[notificationv1.MessageStatus]int{}
			for _, m := range msgs {
				counts[m.GetStatus()]++
				if m.GetStatus() == notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED &&
					(m.GetTemplate() != "points_expiring" || m.GetStatusReason() != "frequency cap: 2 messages a day on email reached") {
					t.Errorf("suppressed %v", m)
				}
			}
			if counts[notificationv1.MessageStatus_MESSAGE_STATUS_SENT] != 3 || counts[notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED] != 1 {
				t.Errorf("statuses = %v, want 3 sent (2 capped + the case reply) and 1 suppressed", counts)
			}

			// Unsubscribe through the link of a marketing message.
			clock.Add(24 * time.Hour)
			h.publishAs(t, segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{CustomerId: cust,
				OldClass: segmentationv1.AbcClass_ABC_CLASS_A, NewClass: segmentationv1.AbcClass_ABC_CLASS_B, NewRfmSegment: "at_risk"})
			offer := byTemplate(h.messagesOf(t, cust, 5), "win_back")
			i := strings.Index(offer.GetBody(), "https://crm.example.cn/unsubscribe?token=")
			if i < 0 {
				t.Fatalf("win-back body %q has no unsubscribe link", offer.GetBody())
			}
			link, err := url.Parse(strings.Fields(offer.GetBody()[i:])[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"", "forged.token", link.Query().Get("token") + "x"} {
				_, err := h.client.Unsubscribe(ctx, &notificationv1.UnsubscribeRequest{Token: bad})
				if v := rpcerr.Violations(err); status.Code(err) != codes.InvalidArgument || len(v) != 1 || v[0].Field != "token" {
					t.Errorf("token %q: %v, want InvalidArgument on token", bad, err)
				}
			}
			resp, err := h.client.Unsubscribe(ctx, &notificationv1.UnsubscribeRequest{Token: link.Query().Get("token")})
			if err != nil || resp.GetCustomerId() != cust || resp.GetChannel() != notificationv1.Channel_CHANNEL_EMAIL {
				t.Fatalf("unsubscribe = %v, %v", resp, err)
			}
			testinfra.Eventually(t, waitFor, "the customer service told", func() bool {
				customers.mu.Lock()
				defer customers.mu.Unlock()
				return len(customers.calls) == 1
			})
			customers.mu.Lock()
			// The link is public: the call is made for no one, and the
			// customer service records the notification service itself.
			call, actor := customers.calls[0], customers.actor
			customers.mu.Unlock()
			if call.GetCustomerId() != cust || call.GetChannel() != customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL ||
				call.GetStatus() != customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT || call.GetSource() != "unsubscribe-link" || actor != "" {
				t.Errorf("SetConsent = %v as %q", call, actor)
			}
			h.publishAs(t, segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{CustomerId: cust,
				OldClass: segmentationv1.AbcClass_ABC_CLASS_A, NewRfmSegment: "at_risk", OldRfmSegment: "hibernating"})
			var second *notificationv1.Message
			testinfra.Eventually(t, waitFor, "the second offer handled", func() bool {
				second = h0(h.messages(t, cust))
				return second.GetId() != offer.GetId() && second.GetTemplate() == "win_back"
			})
			if second.GetStatus() != notificationv1.MessageStatus_MESSAGE_STATUS_SUPPRESSED || second.GetStatusReason() != "customer opted out of email" {
				t.Errorf("offer after unsubscribing = %v, want SUPPRESSED", second)
			}
		})
	}
}
