package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/ports/events"
)

type recorder struct {
	merges   []domain.Merge
	erasures []domain.Erasure
	err      error
}

func (r *recorder) MergeCustomers(_ context.Context, _ string, m domain.Merge) error {
	r.merges = append(r.merges, m)
	return r.err
}

func (r *recorder) EraseCustomer(_ context.Context, _ string, e domain.Erasure) error {
	r.erasures = append(r.erasures, e)
	return r.err
}

func message(t *testing.T, subject string, m proto.Message) platformevents.Message {
	t.Helper()
	payload, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return platformevents.Message{ID: "e", Subject: subject, Payload: payload, Time: time.Unix(100, 0).UTC()}
}

func TestCustomersHandler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := &recorder{}
	h := events.CustomersHandler(r)
	erasedAt := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := h(ctx, message(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{MergedCustomerId: "m", SurvivorCustomerId: "s"})); err != nil {
		t.Fatal(err)
	}
	if err := h(ctx, message(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: "c", EraseTime: timestamppb.New(erasedAt)})); err != nil {
		t.Fatal(err)
	}
	if err := h(ctx, message(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: "d"})); err != nil {
		t.Fatal(err)
	}
	wantMerge := domain.Merge{MergedID: "m", SurvivorID: "s", At: time.Unix(100, 0).UTC()}
	if len(r.merges) != 1 || r.merges[0] != wantMerge {
		t.Errorf("merges = %+v, want [%+v]", r.merges, wantMerge)
	}
	wantErasures := []domain.Erasure{{CustomerID: "c", EraseTime: erasedAt}, {CustomerID: "d", EraseTime: time.Unix(100, 0).UTC()}}
	if fmt.Sprint(r.erasures) != fmt.Sprint(wantErasures) {
		t.Errorf("erasures = %+v, want %+v (the event time when the payload has none)", r.erasures, wantErasures)
	}
}

func TestCustomersHandlerPermanentErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	garbage := []byte{0xff, 0xff}
	tests := []struct {
		name string
		m    platformevents.Message
		err  error
	}{
		{"undecodable merge", platformevents.Message{Subject: customerv1.SubjectCustomerMerged, Payload: garbage}, nil},
		{"undecodable erasure", platformevents.Message{Subject: customerv1.SubjectCustomerErased, Payload: garbage}, nil},
		{"unsubscribed subject", platformevents.Message{Subject: customerv1.SubjectCustomerCreated}, nil},
		{"invalid merge", message(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{}), &validation.Error{}},
		{"conflicting merge", message(t, customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{}), fmt.Errorf("x: %w", domain.ErrMergeConflict)},
		{"invalid erasure", message(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{}), &validation.Error{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := events.CustomersHandler(&recorder{err: tt.err})(ctx, tt.m)
			if !platformevents.IsPermanent(err) {
				t.Errorf("err = %v, want permanent", err)
			}
		})
	}
	transient := errors.New("database down")
	err := events.CustomersHandler(&recorder{err: transient})(ctx, message(t, customerv1.SubjectCustomerErased, &customerv1.CustomerErased{CustomerId: "c"}))
	if !errors.Is(err, transient) || platformevents.IsPermanent(err) {
		t.Errorf("transient failure: err = %v, want it retried", err)
	}
}
