package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/adapters/events"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 2, 3, 4, 5, 6, 7000, time.UTC)
	c, err := domain.NewCustomer("0190a1b2-0000-7000-8000-000000000001", domain.Profile{
		Type: domain.TypeOrganization, DisplayName: "华联超市", Email: "buy@hl.cn", Phone: "+86 21 5555 0000",
		Locale: "zh-CN", TimeZone: "Asia/Shanghai", Tags: []string{"distributor"}, OwnerID: "am-li",
	}, nil, created)
	if err != nil {
		t.Fatal(err)
	}
	wantCustomer := &customerv1.Customer{
		Id: c.ID, Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION, DisplayName: "华联超市",
		Email: "buy@hl.cn", Phone: "+862155550000", Locale: "zh-CN", TimeZone: "Asia/Shanghai",
		Tags: []string{"distributor"}, CreateTime: timestamppb.New(created), UpdateTime: timestamppb.New(created), Etag: "1",
		Kind: customerv1.CustomerKind_CUSTOMER_KIND_END_CUSTOMER, LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT,
		OwnerId: "am-li", State: customerv1.CustomerState_CUSTOMER_STATE_ACTIVE,
	}
	tests := []struct {
		name    string
		ev      domain.Event
		subject string
		want    proto.Message
		got     proto.Message
	}{
		{
			name: "created", ev: domain.CustomerCreated{Customer: c},
			subject: customerv1.SubjectCustomerCreated,
			want:    &customerv1.CustomerCreated{Customer: wantCustomer},
			got:     &customerv1.CustomerCreated{},
		},
		{
			name: "updated", ev: domain.CustomerUpdated{Customer: c, ChangedFields: []domain.Field{domain.FieldEmail, domain.FieldTags}},
			subject: customerv1.SubjectCustomerUpdated,
			want:    &customerv1.CustomerUpdated{Customer: wantCustomer, ChangedFields: []string{"email", "tags"}},
			got:     &customerv1.CustomerUpdated{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := events.NewEncoder().Encode(context.Background(), tt.ev)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if ev.Subject != tt.subject || ev.Source != events.Source || ev.ID == "" {
				t.Errorf("subject %q source %q id %q", ev.Subject, ev.Source, ev.ID)
			}
			if ev.Type != string(proto.MessageName(tt.want)) {
				t.Errorf("type %q, want %q", ev.Type, proto.MessageName(tt.want))
			}
			if err := proto.Unmarshal(ev.Payload, tt.got); err != nil {
				t.Fatalf("decode payload: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.got, protocmp.Transform()); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}
