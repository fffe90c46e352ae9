package notification_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification"
)

// fakeMembers is a segmentation service streaming fixed segments in pages.
type fakeMembers struct {
	mu       sync.Mutex
	segments map[string][]string
	pageSize int
}

func (f *fakeMembers) StreamMembers(ctx context.Context, segmentID string, page func([]string) error) error {
	f.mu.Lock()
	ids, ok := f.segments[segmentID]
	f.mu.Unlock()
	if !ok {
		return errors.New("segment " + segmentID + " not found")
	}
	for start := 0; start < len(ids); start += f.pageSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := page(ids[start:min(start+f.pageSize, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeMembers) set(segmentID string, ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.segments == nil {
		f.segments = map[string][]string{}
	}
	f.segments[segmentID] = ids
}

// saveSaleTemplates saves the campaign kind "spring_sale" for email and
// SMS in both locales.
func saveSaleTemplates(t *testing.T, h *harness) {
	t.Helper()
	for _, tpl := range []*notificationv1.Template{
		{Kind: "spring_sale", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "zh-CN", Subject: "春季特惠", Body: "{{name}}，春季特惠开始了！退订：{{unsubscribe_url}}"},
		{Kind: "spring_sale", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "en", Subject: "Spring sale", Body: "{{name}}, our spring sale has begun! Unsubscribe: {{unsubscribe_url}}"},
		{Kind: "spring_sale", Channel: notificationv1.Channel_CHANNEL_SMS, Locale: "zh-CN", Body: "{{name}}，春季特惠开始了！"},
	} {
		if _, err := h.client.SaveTemplate(context.Background(), &notificationv1.SaveTemplateRequest{Template: tpl}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCampaignToLargeSegment sends a campaign to a 100,000-member segment:
// members who never opted in to email, who opted out, and who already had
// their message of the day are suppressed, members the service does not
// know fail, the rest are sent to the sink, and the counts per status say
// so exactly. On PostgreSQL the caps are counted in Redis when it is
// configured, on SQLite in the database.
func TestCampaignToLargeSegment(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			// A day that is no holiday nor member day in the calendar.
			clock := newClock(time.Date(2025, 5, 6, 10, 0, 0, 0, shanghai))
			members := &fakeMembers{pageSize: 2000}
			var redisURL, prefix string
			if d.Name == "postgres" && testinfra.RedisURL(t) != "" {
				redisURL, prefix = testinfra.RedisURL(t), testinfra.UniqueName("guanxi-test-")+":"
			}

			// Members by i%10: 0 never answered, 1 opted out of email, 2
			// unknown here, 3 had a message today already, 4-9 opted in.
			answered := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			ids := make([]string, n)
			var known []*customerv1.Customer
			for i := range ids {
				id, _ := uuid.NewV7()
				ids[i] = id.String()
				c := &customerv1.Customer{Id: ids[i], DisplayName: fmt.Sprintf("客户%d", i), Email: fmt.Sprintf("c%d@example.cn", i),
					CreateTime: timestamppb.New(answered)}
				switch i % 10 {
				case 0:
				case 1:
					c.Consents = []*customerv1.Consent{optOut(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, answered)}
				case 2:
					continue
				default:
					c.Consents = []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, answered)}
				}
				known = append(known, c)
			}
			if err := notification.ImportCustomers(ctx, d.URL, known); err != nil {
				t.Fatal(err)
			}
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.Now, cfg.Members, cfg.CapPerDay = clock.Now, members, 1
				cfg.RedisURL, cfg.RedisPrefix = redisURL, prefix
				cfg.UnsubscribeSecret, cfg.PublicURL = "test-secret", "https://crm.example.cn"
				cfg.DispatchInterval, cfg.CampaignInterval = 50*time.Millisecond, 50*time.Millisecond
			})
			// Group 3 got a message today already: its slot is taken.
			var capped []string
			for i := 3; i < n; i += 10 {
				capped = append(capped, ids[i])
			}
			takeCapSlots(t, h, redisURL, prefix, capped, "2025-05-06")

			saveSaleTemplates(t, h)
			members.set("seg-spring", ids)
			resp, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{
				Campaign: &notificationv1.Campaign{Name: "春季特惠", SegmentId: "seg-spring", TemplateKind: "spring_sale"}, RequestId: "spring-1"})
			if err != nil {
				t.Fatal(err)
			}
			id := resp.GetCampaign().GetId()
			// The same request again is the same campaign.
			again, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{
				Campaign: &notificationv1.Campaign{Name: "春季特惠", SegmentId: "seg-spring", TemplateKind: "spring_sale"}, RequestId: "spring-1"})
			if err != nil || again.GetCampaign().GetId() != id {
				t.Fatalf("retried create = %v, %v; want campaign %s", again, err, id)
			}

			started := time.Now()
			var c *notificationv1.Campaign
			testinfra.Eventually(t, 5*time.Minute, "the campaign completed and every message handled", func() bool {
				got, err := h.client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: id})
				if err != nil {
					t.Fatal(err)
				}
				c = got.GetCampaign()
				return c.GetState() == notificationv1.CampaignState_CAMPAIGN_STATE_COMPLETED && c.GetCounts().GetQueued() == 0
			})
			t.Logf("%d members handled in %v", n, time.Since(started).Round(time.Millisecond))
			tenth := int64(n / 10)
			want := &notificationv1.CampaignCounts{Sent: 6 * tenth, Failed: tenth, Suppressed: 3 * tenth}
			got := c.GetCounts()
			if got.GetSent() != want.GetSent() || got.GetFailed() != want.GetFailed() || got.GetSuppressed() != want.GetSuppressed() || got.GetDelivered() != 0 {
				t.Errorf("counts = %v, want %v", got, want)
			}
			if c.GetMembersProcessed() != int64(n) || c.GetEndTime() == nil {
				t.Errorf("campaign = processed %d, end %v; want all %d members", c.GetMembersProcessed(), c.GetEndTime(), n)
			}
			var caught int64
			if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM sink_deliveries`).Scan(&caught); err != nil {
				t.Fatal(err)
			}
			if caught != want.GetSent() {
				t.Errorf("the sink caught %d messages, want %d", caught, want.GetSent())
			}
			// Each group's reason.
			wantReason := map[int]string{0: "customer has not opted in to email", 1: "customer opted out of email",
				2: "customer unknown to the notification service", 3: "frequency cap: 1 messages a day on email reached"}
			for i, reason := range wantReason {
				m := h.messages(t, ids[i])
				if len(m) != 1 || (m[0].GetStatusReason() != reason && m[0].GetFailureReason() != reason) {
					t.Errorf("member %d: messages %v, want one with reason %q", i, m, reason)
				}
			}
			if m := h.messages(t, ids[4]); len(m) != 1 || m[0].GetCampaignId() != id || !strings.HasPrefix(m[0].GetBody(), "客户4，春季特惠开始了！退订：https://crm.example.cn/unsubscribe?token=") {
				t.Errorf("member 4: messages %v, want the campaign's email", m)
			}
		})
	}
}

// takeCapSlots counts one message today for each customer, where the
// service counts caps.
func takeCapSlots(t *testing.T, h *harness, redisURL, prefix string, ids []string, day string) {
	t.Helper()
	ctx := context.Background()
	if redisURL != "" {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		pipe := rdb.Pipeline()
		for _, id := range ids {
			// The caps' key (caps.Redis.Key): the customer is its hash tag.
			pipe.Set(ctx, prefix+"cap:{"+id+"}:EMAIL:"+day, 1, time.Hour)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
			if len(keys) > 0 {
				rdb.Del(context.Background(), keys...)
			}
		})
		return
	}
	for _, id := range ids {
		if _, err := h.db.Exec(ctx, `INSERT INTO frequency_counts (customer_id, channel, day, count) VALUES (?, 'EMAIL', ?, 1)`, id, day); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCampaignThrottlePauseResumeCancel: a campaign at 100 messages a
// second creates 100 in its first second and 200 more two seconds on (a
// fake clock); paused it stops, resumed it goes on without a burst, and
// cancelled its unsent messages are suppressed. A scheduled campaign waits
// for its time. Bad requests name their field.
func TestCampaignThrottlePauseResumeCancel(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2025, 5, 6, 10, 0, 0, 0, shanghai)
			clock := newClock(t0)
			members := &fakeMembers{pageSize: 250}
			var ids []string
			var known []*customerv1.Customer
			for i := range 1000 {
				id, _ := uuid.NewV7()
				ids = append(ids, id.String())
				known = append(known, &customerv1.Customer{Id: id.String(), DisplayName: fmt.Sprint("m", i), Phone: fmt.Sprint("+86138", 10000000+i),
					Consents: []*customerv1.Consent{optIn(customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, t0.Add(-time.Hour))}})
			}
			if err := notification.ImportCustomers(ctx, d.URL, known); err != nil {
				t.Fatal(err)
			}
			gate := newGateSender("never")
			h := startConfigured(t, testinfra.EmbeddedNATS(t), d.URL, t.Output(), func(cfg *notification.Config) {
				cfg.Now, cfg.Members, cfg.Sender = clock.Now, members, gate
				cfg.DispatchInterval, cfg.CampaignInterval = 20*time.Millisecond, 20*time.Millisecond
			})
			saveSaleTemplates(t, h)
			members.set("seg", ids)

			for _, bad := range []struct {
				c     *notificationv1.Campaign
				field string
			}{
				{&notificationv1.Campaign{SegmentId: "seg", TemplateKind: "spring_sale"}, "campaign.name"},
				{&notificationv1.Campaign{Name: "x", TemplateKind: "spring_sale"}, "campaign.segment_id"},
				{&notificationv1.Campaign{Name: "x", SegmentId: "seg", TemplateKind: "autumn_sale"}, "campaign.template_kind"},
				{&notificationv1.Campaign{Name: "x", SegmentId: "seg", TemplateKind: "spring_sale", RatePerSecond: -1}, "campaign.rate_per_second"},
			} {
				_, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{Campaign: bad.c})
				if v := rpcerr.Violations(err); status.Code(err) != codes.InvalidArgument || len(v) != 1 || v[0].Field != bad.field {
					t.Errorf("campaign %v: err %v, want InvalidArgument on %s", bad.c, err, bad.field)
				}
			}

			scheduled, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{Campaign: &notificationv1.Campaign{
				Name: "later", SegmentId: "seg", TemplateKind: "spring_sale", ScheduleTime: timestamppb.New(t0.Add(time.Hour)), RatePerSecond: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if scheduled.GetCampaign().GetState() != notificationv1.CampaignState_CAMPAIGN_STATE_SCHEDULED {
				t.Errorf("future campaign state = %v, want SCHEDULED", scheduled.GetCampaign().GetState())
			}
			if _, err := h.client.CancelCampaign(ctx, &notificationv1.CancelCampaignRequest{Id: scheduled.GetCampaign().GetId()}); err != nil {
				t.Fatal(err)
			}

			resp, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{Campaign: &notificationv1.Campaign{
				Name: "now", SegmentId: "seg", TemplateKind: "spring_sale", RatePerSecond: 100}})
			if err != nil {
				t.Fatal(err)
			}
			id := resp.GetCampaign().GetId()
			get := func() *notificationv1.Campaign {
				c, err := h.client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: id})
				if err != nil {
					t.Fatal(err)
				}
				return c.GetCampaign()
			}
			waitProcessed := func(want int64) *notificationv1.Campaign {
				var c *notificationv1.Campaign
				testinfra.Eventually(t, waitFor, fmt.Sprint(want, " members processed"), func() bool {
					c = get()
					return c.GetMembersProcessed() >= want && c.GetCounts().GetSent()+c.GetCounts().GetQueued() == c.GetMembersProcessed()
				})
				if c.GetMembersProcessed() != want {
					t.Fatalf("processed %d, want %d", c.GetMembersProcessed(), want)
				}
				return c
			}
			c := waitProcessed(100)
			if c.GetState() != notificationv1.CampaignState_CAMPAIGN_STATE_RUNNING {
				t.Errorf("state = %v, want RUNNING while it runs", c.GetState())
			}
			clock.Add(2 * time.Second)
			waitProcessed(300)

			if p, err := h.client.PauseCampaign(ctx, &notificationv1.PauseCampaignRequest{Id: id}); err != nil ||
				p.GetCampaign().GetState() != notificationv1.CampaignState_CAMPAIGN_STATE_PAUSED {
				t.Fatalf("pause = %v, %v", p, err)
			}
			if _, err := h.client.PauseCampaign(ctx, &notificationv1.PauseCampaignRequest{Id: id}); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("pausing a paused campaign: %v, want FailedPrecondition", err)
			}
			clock.Add(5 * time.Second)
			if _, err := h.client.ResumeCampaign(ctx, &notificationv1.ResumeCampaignRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
			waitProcessed(400) // one second's worth, not the five paused
			clock.Add(time.Second)
			waitProcessed(500)

			// Hold the dispatcher so the next second's messages stay queued,
			// then cancel: they are suppressed, never sent.
			gate.setBlock(fmt.Sprint("+86138", 10000000+500))
			clock.Add(time.Second)
			waitBlocked := time.After(waitFor)
			select {
			case <-gate.blocked:
			case <-waitBlocked:
				t.Fatal("the dispatcher never reached the held message")
			}
			testinfra.Eventually(t, waitFor, "600 processed", func() bool { return get().GetMembersProcessed() == 600 })
			cancelled, err := h.client.CancelCampaign(ctx, &notificationv1.CancelCampaignRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			gate.release()
			cc := cancelled.GetCampaign()
			if cc.GetState() != notificationv1.CampaignState_CAMPAIGN_STATE_CANCELLED || cc.GetCounts().GetQueued() != 0 ||
				cc.GetCounts().GetSuppressed() == 0 || cc.GetCounts().GetSent()+cc.GetCounts().GetSuppressed() != 600 {
				t.Errorf("cancelled campaign = %v, want 600 messages sent or suppressed, none queued", cc)
			}
			if _, err := h.client.ResumeCampaign(ctx, &notificationv1.ResumeCampaignRequest{Id: id}); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("resuming a cancelled campaign: %v, want FailedPrecondition", err)
			}
			if _, err := h.client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: newID(t)}); status.Code(err) != codes.NotFound {
				t.Errorf("unknown campaign: %v, want NotFound", err)
			}
			list, err := h.client.ListCampaigns(ctx, &notificationv1.ListCampaignsRequest{})
			if err != nil || len(list.GetCampaigns()) != 2 || list.GetCampaigns()[0].GetId() != id {
				t.Errorf("campaigns = %v, %v; want the two, newest first", list, err)
			}

			// A campaign scheduled for an hour on starts when its time comes.
			later, err := h.client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{Campaign: &notificationv1.Campaign{
				Name: "later", SegmentId: "seg", TemplateKind: "spring_sale", ScheduleTime: timestamppb.New(clock.Now().Add(time.Hour))}})
			if err != nil {
				t.Fatal(err)
			}
			lid := later.GetCampaign().GetId()
			clock.Add(59 * time.Minute)
			if c, err := h.client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: lid}); err != nil ||
				c.GetCampaign().GetState() != notificationv1.CampaignState_CAMPAIGN_STATE_SCHEDULED || c.GetCampaign().GetMembersProcessed() != 0 {
				t.Errorf("before its time: %v, %v", c, err)
			}
			clock.Add(time.Minute)
			testinfra.Eventually(t, waitFor, "the scheduled campaign done", func() bool {
				c, err := h.client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: lid})
				if err != nil {
					t.Fatal(err)
				}
				return c.GetCampaign().GetState() == notificationv1.CampaignState_CAMPAIGN_STATE_COMPLETED && c.GetCampaign().GetMembersProcessed() == 1000
			})
		})
	}
}
