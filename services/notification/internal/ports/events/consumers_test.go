package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/ports/events"
)

// recorder is a Customers remembering each call.
type recorder struct {
	calls    []string
	runs     []int // events per UpdateCustomers call
	eventID  string
	r        domain.Recipient
	consents []domain.Consent
	consent  domain.Consent
	merge    domain.Merge
	erasure  domain.Erasure
}

func (w *recorder) UpdateCustomers(_ context.Context, evs []app.CustomerEvent) error {
	w.runs = append(w.runs, len(evs))
	for _, ev := range evs {
		switch {
		case ev.Kind == app.KindCreated && ev.Welcome:
			w.calls = append(w.calls, "welcome")
			w.r, w.consents = ev.Recipient, ev.Consents
		case ev.Kind == app.KindCreated:
			w.calls = append(w.calls, "store")
			w.r, w.consents = ev.Recipient, ev.Consents
		case ev.Kind == app.KindUpdated:
			w.calls = append(w.calls, "update")
			w.r = ev.Recipient
		case ev.Kind == app.KindConsentChanged:
			w.calls = append(w.calls, "consent")
			w.consent = ev.Consents[0]
		}
		w.eventID = ev.EventID
	}
	return nil
}

func (w *recorder) MergeCustomers(_ context.Context, eventID string, m domain.Merge, _ domain.Recipient, consents []domain.Consent) error {
	w.calls = append(w.calls, "merge")
	w.eventID, w.merge, w.consents = eventID, m, consents
	return nil
}

func (w *recorder) EraseCustomer(_ context.Context, eventID string, e domain.Erasure) error {
	w.calls = append(w.calls, "erase")
	w.eventID, w.erasure = eventID, e
	return nil
}

var eventTime = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func handle(t *testing.T, w *recorder, subject string, payload []byte) error {
	t.Helper()
	return events.CustomersHandler(w)(context.Background(), platformevents.Message{
		ID: "e1", Subject: subject, Payload: payload, Time: eventTime,
	})
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCustomerCreated(t *testing.T) {
	t.Parallel()
	answered := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	full := marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{
		Id: "c1", DisplayName: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN",
		TimeZone: "Asia/Shanghai", Tags: []string{"vip"}, Birthday: &date.Date{Year: 1990, Month: 2, Day: 14},
		Consents: []*customerv1.Consent{
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "signup-form", UpdateTime: timestamppb.New(answered)},
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT},
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN},
		},
	}})
	tests := []struct {
		name          string
		payload       []byte
		wantPermanent bool
	}{
		{"customer", full, false},
		{"imported", marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{Id: "c2", DisplayName: "x"}, Imported: true}), false},
		{"undecodable", []byte{0xff, 0xff, 0xff}, true},
		{"no customer", nil, true},
		{"no customer id", marshal(t, &customerv1.CustomerCreated{Customer: &customerv1.Customer{DisplayName: "x"}}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &recorder{}
			err := handle(t, w, customerv1.SubjectCustomerCreated, tt.payload)
			if tt.name == "imported" {
				if err != nil || len(w.calls) != 1 || w.calls[0] != "store" {
					t.Errorf("imported customer: err %v, calls %v; want it stored without a welcome", err, w.calls)
				}
				return
			}
			if tt.wantPermanent {
				if !platformevents.IsPermanent(err) || len(w.calls) != 0 {
					t.Errorf("err = %v, calls = %v; want a permanent error and no call", err, w.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := domain.Recipient{CustomerID: "c1", Name: "王小明", Email: "w@example.cn", Phone: "138", Locale: "zh-CN", TimeZone: "Asia/Shanghai", BirthMonth: 2, BirthDay: 14}
			if len(w.calls) != 1 || w.eventID != "e1" || w.r != want {
				t.Errorf("called %v with (%q, %+v), want welcome once with (e1, %+v)", w.calls, w.eventID, w.r, want)
			}
			wantConsents := []domain.Consent{
				{CustomerID: "c1", Channel: domain.ChannelEmail, Status: domain.ConsentOptedOut, Source: "signup-form", UpdateTime: answered},
				{CustomerID: "c1", Channel: domain.ChannelWeChat, Status: domain.ConsentOptedIn, UpdateTime: eventTime},
			}
			if fmt.Sprint(w.consents) != fmt.Sprint(wantConsents) {
				t.Errorf("consents = %+v, want %+v (phone left out, the event time for an answer without one)", w.consents, wantConsents)
			}
		})
	}
}

func TestConsentChanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	channels := map[customerv1.ConsentChannel]domain.Channel{
		customerv1.ConsentChannel_CONSENT_CHANNEL_SMS:    domain.ChannelSMS,
		customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL:  domain.ChannelEmail,
		customerv1.ConsentChannel_CONSENT_CHANNEL_PUSH:   domain.ChannelPush,
		customerv1.ConsentChannel_CONSENT_CHANNEL_WECHAT: domain.ChannelWeChat,
	}
	for from, want := range channels {
		w := &recorder{}
		err := handle(t, w, customerv1.SubjectConsentChanged, marshal(t, &customerv1.ConsentChanged{CustomerId: "c1", Consent: &customerv1.Consent{
			Channel: from, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT, Source: "app", UpdateTime: timestamppb.New(at),
		}}))
		if err != nil {
			t.Fatal(err)
		}
		wantConsent := domain.Consent{CustomerID: "c1", Channel: want, Status: domain.ConsentOptedOut, Source: "app", UpdateTime: at}
		if w.consent != wantConsent {
			t.Errorf("%v: consent = %+v, want %+v", from, w.consent, wantConsent)
		}
	}
	w := &recorder{}
	phone := marshal(t, &customerv1.ConsentChanged{CustomerId: "c1", Consent: &customerv1.Consent{
		Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_OUT,
	}})
	if err := handle(t, w, customerv1.SubjectConsentChanged, phone); err != nil || len(w.calls) != 0 {
		t.Errorf("phone consent: err %v, calls %v; want it acknowledged and ignored", err, w.calls)
	}
}

// TestCustomersBatch applies a batch in stream order: the created,
// updated and consent events between merges and erasures as one run each,
// a phone answer left out.
func TestCustomersBatch(t *testing.T) {
	t.Parallel()
	customer := func(id string) *customerv1.Customer { return &customerv1.Customer{Id: id} }
	consent := func(ch customerv1.ConsentChannel) []byte {
		return marshal(t, &customerv1.ConsentChanged{CustomerId: "c1", Consent: &customerv1.Consent{Channel: ch}})
	}
	msgs := []platformevents.Message{
		{ID: "1", Subject: customerv1.SubjectCustomerCreated, Payload: marshal(t, &customerv1.CustomerCreated{Customer: customer("c1")})},
		{ID: "2", Subject: customerv1.SubjectConsentChanged, Payload: consent(customerv1.ConsentChannel_CONSENT_CHANNEL_PHONE)},
		{ID: "3", Subject: customerv1.SubjectConsentChanged, Payload: consent(customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL)},
		{ID: "4", Subject: customerv1.SubjectCustomerUndeleted, Payload: marshal(t, &customerv1.CustomerUndeleted{Customer: customer("c1")})},
		{ID: "5", Subject: customerv1.SubjectCustomerMerged, Payload: marshal(t, &customerv1.CustomerMerged{MergedCustomerId: "c1", SurvivorCustomerId: "c2"})},
		{ID: "6", Subject: customerv1.SubjectCustomerCreated, Payload: marshal(t, &customerv1.CustomerCreated{Customer: customer("c3"), Imported: true})},
		{ID: "7", Subject: customerv1.SubjectCustomerErased, Payload: marshal(t, &customerv1.CustomerErased{CustomerId: "c3", EraseTime: timestamppb.New(eventTime)})},
	}
	w := &recorder{}
	if err := events.CustomersBatch(w)(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w.calls, w.runs), "[welcome consent update merge store erase] [3 1]"; got != want {
		t.Errorf("calls and runs %s, want %s", got, want)
	}
	// A message that cannot decode fails the batch, to be handled one by
	// one (and dead-lettered) by the consumer.
	bad := append(msgs[:1:1], platformevents.Message{ID: "8", Subject: customerv1.SubjectCustomerUpdated, Payload: []byte{0xff, 0xff}})
	if err := events.CustomersBatch(&recorder{})(context.Background(), bad); !platformevents.IsPermanent(err) {
		t.Errorf("undecodable message in a batch: %v, want a permanent error", err)
	}
}

func TestMergeAndErase(t *testing.T) {
	t.Parallel()
	w := &recorder{}
	err := handle(t, w, customerv1.SubjectCustomerMerged, marshal(t, &customerv1.CustomerMerged{
		MergedCustomerId: "m", SurvivorCustomerId: "s",
		Survivor: &customerv1.Customer{Id: "s", Consents: []*customerv1.Consent{
			{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_SMS, Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN},
		}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if w.merge != (domain.Merge{MergedID: "m", SurvivorID: "s", At: eventTime}) || len(w.consents) != 1 || w.consents[0].CustomerID != "s" {
		t.Errorf("merge = %+v with consents %+v", w.merge, w.consents)
	}
	erasedAt := eventTime.Add(-time.Hour)
	if err := handle(t, w, customerv1.SubjectCustomerErased, marshal(t, &customerv1.CustomerErased{CustomerId: "c", EraseTime: timestamppb.New(erasedAt)})); err != nil {
		t.Fatal(err)
	}
	if w.erasure != (domain.Erasure{CustomerID: "c", EraseTime: erasedAt}) {
		t.Errorf("erasure = %+v", w.erasure)
	}
	for _, subject := range []string{customerv1.SubjectCustomerMerged, customerv1.SubjectCustomerErased, customerv1.SubjectConsentChanged} {
		if err := handle(t, w, subject, []byte{0xff, 0xff}); !platformevents.IsPermanent(err) {
			t.Errorf("undecodable %s: err = %v, want permanent", subject, err)
		}
	}
	if err := handle(t, w, customerv1.SubjectCustomerDeleted, nil); !platformevents.IsPermanent(err) {
		t.Errorf("unsubscribed subject: err = %v, want permanent", err)
	}
}

// triggerRecorder is a Triggers remembering each call.
type triggerRecorder struct {
	consumer, eventID, customerID, agentID string
	member                                 *app.Membership
	notices                                []app.Notice
	agentKind                              string
	agentVars                              domain.Vars
	program                                domain.LoyaltyProgram
	enrolments                             []app.Enrolment
}

func (r *triggerRecorder) AddMembers(_ context.Context, evs []app.Enrolment) error {
	r.enrolments = append(r.enrolments, evs...)
	return nil
}

func (r *triggerRecorder) ChangeProgram(_ context.Context, eventID string, p domain.LoyaltyProgram) error {
	r.eventID, r.program = eventID, p
	return nil
}

func (r *triggerRecorder) Notify(_ context.Context, consumer, eventID, customerID string, member *app.Membership, notices ...app.Notice) error {
	r.consumer, r.eventID, r.customerID, r.member, r.notices = consumer, eventID, customerID, member, notices
	return nil
}

func (r *triggerRecorder) NotifyAgent(_ context.Context, consumer, eventID, agentID, kind string, vars domain.Vars) error {
	r.consumer, r.eventID, r.agentID, r.agentKind, r.agentVars = consumer, eventID, agentID, kind, vars
	return nil
}

func TestTriggerEvents(t *testing.T) {
	t.Parallel()
	msg := func(subject string, m proto.Message) platformevents.Message {
		return platformevents.Message{ID: "e1", Subject: subject, Payload: marshal(t, m), Time: eventTime}
	}
	ctx := context.Background()

	r := &triggerRecorder{}
	err := events.InteractionsHandler(r)(ctx, msg(interactionv1.SubjectCaseResolved, &interactionv1.CaseResolved{
		CaseId: "k", CaseNumber: "C-000123", CustomerId: "c1", Resolution: "refunded", SurveyId: "s", SurveyUrl: "https://s.test/1",
	}))
	if err != nil || r.consumer != app.ConsumerInteractions || r.customerID != "c1" || len(r.notices) != 2 ||
		r.notices[0].Kind != domain.KindCaseResolved || r.notices[0].Vars["case_number"] != "C-000123" ||
		r.notices[1].Kind != domain.KindSurveyInvitation || r.notices[1].Vars["survey_url"] != "https://s.test/1" {
		t.Errorf("case resolved: err %v, recorded %+v", err, r)
	}

	r = &triggerRecorder{}
	err = events.InteractionsHandler(r)(ctx, msg(interactionv1.SubjectFollowupDue, &interactionv1.FollowupDue{
		FollowupId: "f", CustomerId: "c1", AgentId: "agent-7", Reason: "purchase",
	}))
	if err != nil || r.agentID != "agent-7" || r.agentKind != domain.KindFollowupDue || r.agentVars["customer_id"] != "c1" {
		t.Errorf("follow-up due: err %v, recorded %+v", err, r)
	}

	r = &triggerRecorder{}
	err = events.LoyaltyHandler(r)(ctx, msg(loyaltyv1.SubjectTierChanged, &loyaltyv1.TierChanged{
		CustomerId: "c1", ProgramId: "p1", NewTierCode: "gold", NewTierName: "Gold",
	}))
	if err != nil || r.member == nil || *r.member != (app.Membership{ProgramID: "p1", TierCode: "gold", TierName: "Gold"}) ||
		len(r.notices) != 1 || r.notices[0].Vars["tier_name"] != "Gold" {
		t.Errorf("tier changed: err %v, recorded %+v", err, r)
	}

	r = &triggerRecorder{}
	err = events.LoyaltyHandler(r)(ctx, msg(loyaltyv1.SubjectPointsExpiring, &loyaltyv1.PointsExpiring{
		CustomerId: "c1", Points: 500, PointsBalance: 1200, ExpireTime: timestamppb.New(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)),
	}))
	if err != nil || len(r.notices) != 1 || r.notices[0].Vars["points"] != "500" || r.notices[0].Vars["expire_date"] != "2025-06-30" {
		t.Errorf("points expiring: err %v, recorded %+v", err, r)
	}

	cases := []struct {
		ev   *segmentationv1.CustomerClassChanged
		want bool
	}{
		{&segmentationv1.CustomerClassChanged{CustomerId: "c1", OldClass: segmentationv1.AbcClass_ABC_CLASS_A, NewClass: segmentationv1.AbcClass_ABC_CLASS_A, OldRfmSegment: "champions", NewRfmSegment: "at_risk"}, true},
		{&segmentationv1.CustomerClassChanged{CustomerId: "c1", OldClass: segmentationv1.AbcClass_ABC_CLASS_B, NewRfmSegment: "at_risk"}, false},
		{&segmentationv1.CustomerClassChanged{CustomerId: "c1", OldClass: segmentationv1.AbcClass_ABC_CLASS_A, OldRfmSegment: "at_risk", NewRfmSegment: "at_risk"}, false},
		{&segmentationv1.CustomerClassChanged{CustomerId: "c1", OldClass: segmentationv1.AbcClass_ABC_CLASS_A, NewRfmSegment: "loyal"}, false},
	}
	for i, c := range cases {
		r = &triggerRecorder{}
		if err := events.SegmentationHandler(r)(ctx, msg(segmentationv1.SubjectCustomerClassChanged, c.ev)); err != nil {
			t.Fatal(err)
		}
		if got := len(r.notices) == 1 && r.notices[0].Kind == domain.KindWinBack; got != c.want {
			t.Errorf("class change %d: win-back %v, want %v", i, got, c.want)
		}
	}
	if err := events.LoyaltyHandler(r)(ctx, platformevents.Message{ID: "e", Subject: loyaltyv1.SubjectTierChanged, Payload: []byte{0xff, 0xff}}); !platformevents.IsPermanent(err) {
		t.Errorf("undecodable tier change: err = %v, want permanent", err)
	}
}
