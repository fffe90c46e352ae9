package domain_test

import (
	"errors"
	"testing"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

const (
	mergedID   = "01890a5d-ac96-774b-bcce-b302099a8001"
	survivorID = "01890a5d-ac96-774b-bcce-b302099a8002"
	thirdID    = "01890a5d-ac96-774b-bcce-b302099a8003"
)

func TestMergeDecide(t *testing.T) {
	t.Parallel()
	m := domain.Merge{MergedID: mergedID, SurvivorID: survivorID}
	tests := []struct {
		name                 string
		mergedInto, survivor string
		wantApply            bool
		wantErr              error
	}{
		{"first time", "", survivorID, true, nil},
		{"survivor merged on since", "", thirdID, true, nil},
		{"applied before", survivorID, survivorID, false, nil},
		{"merged into another survivor", thirdID, survivorID, false, domain.ErrMergeConflict},
		{"survivor merged into the merged customer", "", mergedID, false, domain.ErrMergeConflict},
	}
	for _, tt := range tests {
		apply, err := m.Decide(tt.mergedInto, tt.survivor)
		if apply != tt.wantApply || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Decide = %v, %v; want %v, %v", tt.name, apply, err, tt.wantApply, tt.wantErr)
		}
	}
	if v := (domain.Merge{MergedID: mergedID, SurvivorID: mergedID}).Validate(); len(v) != 1 {
		t.Errorf("merge into itself: violations %v, want one", v)
	}
	if v := (domain.Erasure{CustomerID: "nope"}).Validate(); len(v) != 1 {
		t.Errorf("erasure of a bad id: violations %v, want one", v)
	}
}

func TestMessageErase(t *testing.T) {
	t.Parallel()
	full := func(status domain.Status, reason string) domain.Message {
		return domain.Message{ID: "m", CustomerID: "c", Channel: domain.ChannelEmail, Address: "a@example.com",
			Template: domain.TemplateWelcome, Subject: "Welcome", Body: "Hello Ann", Status: status, FailureReason: reason}
	}
	tests := []struct {
		name       string
		m          domain.Message
		wantQueued bool
		wantStatus domain.Status
		wantReason string
	}{
		{"queued fails", full(domain.StatusQueued, ""), true, domain.StatusFailed, domain.ReasonErased},
		{"sent stays sent", full(domain.StatusSent, ""), false, domain.StatusSent, ""},
		{"own reason stays", full(domain.StatusFailed, domain.ReasonNoContact), false, domain.StatusFailed, domain.ReasonNoContact},
		{"consent reason stays", full(domain.StatusFailed, "customer opted out of email"), false, domain.StatusFailed, "customer opted out of email"},
		{"channel reason goes", full(domain.StatusFailed, "mailbox a@example.com full"), false, domain.StatusFailed, domain.ReasonRemoved},
		{"erased twice", full(domain.StatusFailed, domain.ReasonErased), false, domain.StatusFailed, domain.ReasonErased},
	}
	for _, tt := range tests {
		m := tt.m
		queued := m.Erase()
		if queued != tt.wantQueued || m.Status != tt.wantStatus || m.FailureReason != tt.wantReason {
			t.Errorf("%s: Erase = %v, status %s, reason %q; want %v, %s, %q", tt.name, queued, m.Status, m.FailureReason,
				tt.wantQueued, tt.wantStatus, tt.wantReason)
		}
		if m.Address != "" || m.Subject != "" || m.Body != "" {
			t.Errorf("%s: erased message keeps %q %q %q", tt.name, m.Address, m.Subject, m.Body)
		}
		if m.ID != "m" || m.CustomerID != "c" || m.Template != domain.TemplateWelcome || m.Channel != domain.ChannelEmail {
			t.Errorf("%s: erase changed the message's identity: %+v", tt.name, m)
		}
	}
}
