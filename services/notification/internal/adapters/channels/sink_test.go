package channels_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/testinfra"

	"github.com/guanxi-crm/guanxi/services/notification/internal/adapters/channels"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

func TestSink(t *testing.T) {
	for _, d := range testinfra.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := testinfra.OpenDB(t, d.URL, migrations.FS)
			var logs bytes.Buffer
			sink := channels.NewSink(db, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

			before := time.Now().Add(-time.Second)
			first := domain.Delivery{MessageID: "m1", Channel: domain.ChannelEmail, Address: "wang@example.cn",
				Template: domain.TemplateWelcome, Subject: "欢迎加入", Body: "王小明，您好！感谢您成为我们的客户。"}
			second := domain.Delivery{MessageID: "m2", Channel: domain.ChannelSMS, Address: "+8613800000000",
				Template: domain.TemplateWelcome, Subject: "Welcome", Body: "Hello Ann, thank you for becoming our customer."}
			for _, d := range []domain.Delivery{first, second, first} {
				if _, err := sink.Send(ctx, d); err != nil {
					t.Fatal(err)
				}
			}

			all, err := sink.Deliveries(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 3 {
				t.Fatalf("sink holds %d deliveries, want 3 (a resend is caught again)", len(all))
			}
			if all[1].Delivery != second {
				t.Errorf("second delivery = %+v, want %+v", all[1].Delivery, second)
			}
			if all[1].Time.Before(before) || all[1].Time.After(time.Now().Add(time.Second)) {
				t.Errorf("delivery time %v is not now", all[1].Time)
			}
			m1, err := sink.Deliveries(ctx, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if len(m1) != 2 || m1[0].Delivery != first || m1[1].Delivery != first {
				t.Errorf("deliveries of m1 = %+v, want first twice", m1)
			}

			// The log says what happened without personal data.
			out := logs.String()
			for _, want := range []string{`"message_id":"m1"`, `"channel":"SMS"`, `"template":"welcome"`} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %s:\n%s", want, out)
				}
			}
			for _, secret := range []string{first.Address, second.Address, "王小明", "Ann", first.Subject} {
				if strings.Contains(out, secret) {
					t.Errorf("log contains personal data %q:\n%s", secret, out)
				}
			}
		})
	}
}
