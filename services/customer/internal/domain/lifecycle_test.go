package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustCustomer(t *testing.T, id string, p domain.Profile) domain.Customer {
	t.Helper()
	if p.OwnerID == "" {
		p.OwnerID = "am-li"
	}
	c, err := domain.NewCustomer(id, p, defs, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMergeUnitesContactsTagsAndAttributes(t *testing.T) {
	t.Parallel()
	survivor := mustCustomer(t, "s", domain.Profile{DisplayName: "王小明", Email: "xm@a.com", Phone: "13800138000",
		Tags: []string{"vip"}, Attributes: map[string]domain.AttributeValue{"city": {Type: domain.AttrString, Str: "杭州"}}})
	merged := mustCustomer(t, "m", domain.Profile{DisplayName: "王 小明", Email: "wang@b.com", Phone: "13900139000",
		OtherPhones: []string{"13800138000"}, Tags: []string{"批发", "vip"}, ExternalID: "erp-7",
		Birthday:   &domain.Date{Month: 5, Day: 1},
		Attributes: map[string]domain.AttributeValue{"city": {Type: domain.AttrString, Str: "上海"}, "level": {Type: domain.AttrEnum, Str: "gold"}}})
	merged.Consents = []domain.Consent{{Channel: domain.ChannelSMS, Status: domain.ConsentOptedOut, Source: "call", UpdateTime: t0.Add(time.Hour)}}

	s, m, err := domain.Merge(survivor, merged, defs, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.Email != "xm@a.com" || !slices.Equal(s.OtherEmails, []string{"wang@b.com"}) {
		t.Errorf("emails %q %v", s.Email, s.OtherEmails)
	}
	if s.Phone != "+8613800138000" || !slices.Equal(s.OtherPhones, []string{"+8613900139000"}) {
		t.Errorf("phones %q %v", s.Phone, s.OtherPhones)
	}
	if !slices.Equal(s.Tags, []string{"vip", "批发"}) {
		t.Errorf("tags %v", s.Tags)
	}
	if s.Attributes["city"].Str != "杭州" || s.Attributes["level"].Str != "gold" {
		t.Errorf("attributes %v: the survivor's value wins, missing ones are taken", s.Attributes)
	}
	if s.ExternalID != "erp-7" || s.Birthday == nil || len(s.Consents) != 1 || !slices.Equal(s.MergedIDs, []string{"m"}) {
		t.Errorf("external id %q birthday %v consents %v merged %v", s.ExternalID, s.Birthday, s.Consents, s.MergedIDs)
	}
	if s.Version != survivor.Version+1 {
		t.Errorf("survivor version %d", s.Version)
	}
	if m.State != domain.StateMerged || m.MergedInto != "s" || m.ExternalID != "" {
		t.Errorf("merged state %v into %q external %q", m.State, m.MergedInto, m.ExternalID)
	}
	if _, _, err := domain.Merge(s, m, defs, t0); err == nil {
		t.Error("merging a merged customer again succeeded")
	}
	var ve *validation.Error
	if _, _, err := domain.Merge(s, s, defs, t0); !errors.As(err, &ve) {
		t.Errorf("self merge: %v", err)
	}
}

func TestEraseLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	c := mustCustomer(t, "c", domain.Profile{DisplayName: "李雷", Email: "lilei@x.com", Phone: "13800138000",
		OtherEmails: []string{"l2@x.com"}, Addresses: []domain.Address{{City: "北京", Lines: []string{"长安街1号"}}},
		Birthday: &domain.Date{Year: 1990, Month: 1, Day: 2}, Tags: []string{"vip"}, ExternalID: "e1"})
	e, err := c.Erase(t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dump := strings.Join([]string{e.DisplayName, e.Email, e.Phone, strings.Join(e.OtherEmails, ","), e.ExternalID}, "|")
	if dump != "||||" || e.Addresses != nil || e.Birthday != nil || e.Tags != nil || e.State != domain.StateErased {
		t.Errorf("tombstone still holds data: %+v", e)
	}
	if _, _, err := e.Apply(domain.Profile{DisplayName: "x"}, []domain.Field{domain.FieldDisplayName}, defs, t0); err == nil {
		t.Error("an erased customer accepted an update")
	}
	if _, err := e.Erase(t0); err == nil {
		t.Error("erasing twice succeeded")
	}
}

func TestDeleteUndelete(t *testing.T) {
	t.Parallel()
	c := mustCustomer(t, "c", domain.Profile{DisplayName: "A"})
	d, err := c.Delete(t0.Add(time.Minute))
	if err != nil || d.State != domain.StateDeleted || !d.DeleteTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("delete: %+v %v", d, err)
	}
	var se *domain.StateError
	if _, _, err := d.SetConsent(domain.Consent{Channel: domain.ChannelSMS, Status: domain.ConsentOptedIn, Source: "x"}, t0); !errors.As(err, &se) {
		t.Errorf("consent on a deleted customer: %v", err)
	}
	u, err := d.Undelete(t0.Add(2 * time.Minute))
	if err != nil || u.State != domain.StateActive || !u.DeleteTime.IsZero() {
		t.Fatalf("undelete: %+v %v", u, err)
	}
	if _, err := u.Undelete(t0); !errors.As(err, &se) {
		t.Errorf("undeleting an active customer: %v", err)
	}
}

func TestSetConsent(t *testing.T) {
	t.Parallel()
	c := mustCustomer(t, "c", domain.Profile{DisplayName: "A"})
	in := domain.Consent{Channel: domain.ChannelWeChat, Status: domain.ConsentOptedIn, Source: " signup-form "}
	c1, changed, err := c.SetConsent(in, t0.Add(time.Minute))
	if err != nil || !changed || len(c1.Consents) != 1 || c1.Consents[0].Source != "signup-form" {
		t.Fatalf("first consent: %+v %v %v", c1.Consents, changed, err)
	}
	if _, changed, _ := c1.SetConsent(in, t0.Add(2*time.Minute)); changed {
		t.Error("the same answer again counted as a change")
	}
	in.Status = domain.ConsentOptedOut
	c2, changed, err := c1.SetConsent(in, t0.Add(3*time.Minute))
	if err != nil || !changed || c2.Consents[0].Status != domain.ConsentOptedOut || c2.Version != c1.Version+1 {
		t.Fatalf("opt out: %+v %v %v", c2.Consents, changed, err)
	}
	var ve *validation.Error
	if _, _, err := c.SetConsent(domain.Consent{}, t0); !errors.As(err, &ve) || len(ve.Violations) != 3 {
		t.Errorf("empty consent: %v", err)
	}
}

func TestTransferChange(t *testing.T) {
	t.Parallel()
	tr, err := domain.Transfer{FromOwner: "a", ToOwner: "b", Reason: "left the company"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := tr.Change("c1", "a", "team-1", "admin", t0)
	if !ok || ch.FromOwner != "a" || ch.ToOwner != "b" || ch.ToTeam != "team-1" || ch.FromTeam != "team-1" {
		t.Errorf("change %+v %v", ch, ok)
	}
	var ve *validation.Error
	if _, err := (domain.Transfer{FromOwner: "a"}).Normalize(); !errors.As(err, &ve) || len(ve.Violations) != 2 {
		t.Errorf("transfer without target and reason: %v", err)
	}
}

func TestNameKeyAndSearch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b string }{
		{"王小明", "王 小明"}, {"Wang Xiaoming", "xiaoming WANG"}, {"ＡＣＭＥ", "acme"}, {"Acme, Ltd.", "acme ltd"},
	} {
		if domain.NameKey(tt.a) != domain.NameKey(tt.b) {
			t.Errorf("NameKey(%q)=%q != NameKey(%q)=%q", tt.a, domain.NameKey(tt.a), tt.b, domain.NameKey(tt.b))
		}
	}
	if domain.NameKey("王小明") == domain.NameKey("小明王") {
		t.Error("Chinese name order was ignored")
	}
	p := domain.Profile{DisplayName: "欧阳娜娜", Email: "Nana@Example.com", Phone: "+8613800138000"}
	text := p.SearchText()
	for _, q := range []string{"阳娜", "nana@example", "138-0013-8000", "13800138000"} {
		for _, term := range domain.SearchTerms(q) {
			if !strings.Contains(text, term) {
				t.Errorf("query %q (term %q) does not match %q", q, term, text)
			}
		}
	}
}
