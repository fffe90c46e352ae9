package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

const customerID = "01890a5d-ac96-774b-bcce-b302099a8057"

var now = time.Date(2025, 3, 8, 10, 30, 0, 123456789, time.UTC)

func cny(minor int64) domain.Money { return domain.Money{CurrencyCode: "CNY", AmountMinor: minor} }

func purchase() *domain.Purchase {
	return &domain.Purchase{
		Total:   cny(12850),
		OrderID: "SO-1",
		Lines: []domain.PurchaseLine{
			{SKU: "TEA-1", ProductName: "龙井茶", Category: "tea", Quantity: 2, UnitPrice: cny(6425)},
		},
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name      string
		in        domain.Interaction
		wantKind  domain.Kind
		wantOccur time.Time
	}{
		{"unspecified with purchase is a purchase", domain.Interaction{Purchase: purchase()}, domain.KindPurchase, now.Truncate(time.Microsecond)},
		{"unspecified without purchase is a note", domain.Interaction{}, domain.KindNote, now.Truncate(time.Microsecond)},
		{"explicit kind is kept", domain.Interaction{Kind: domain.KindCall}, domain.KindCall, now.Truncate(time.Microsecond)},
		{
			"occur time kept in UTC at microseconds",
			domain.Interaction{Kind: domain.KindCall, OccurTime: time.Date(2025, 1, 2, 8, 0, 0, 999, local)},
			domain.KindCall, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			in.Normalize(now)
			if in.Kind != tt.wantKind {
				t.Errorf("kind = %q, want %q", in.Kind, tt.wantKind)
			}
			if !in.OccurTime.Equal(tt.wantOccur) || in.OccurTime.Location() != time.UTC {
				t.Errorf("occur time = %v, want %v UTC", in.OccurTime, tt.wantOccur)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func(mod func(in *domain.Interaction)) domain.Interaction {
		in := domain.Interaction{CustomerID: customerID, Purchase: purchase(), Summary: "bought tea", Channel: domain.ChannelInPerson}
		if mod != nil {
			mod(&in)
		}
		in.Normalize(now)
		return in
	}
	tests := []struct {
		name       string
		in         domain.Interaction
		wantFields []string
	}{
		{"valid purchase", valid(nil), nil},
		{"valid note", valid(func(in *domain.Interaction) { in.Purchase = nil }), nil},
		{"purchase without lines", valid(func(in *domain.Interaction) { in.Purchase.Lines = nil }), nil},
		{"free line", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].UnitPrice = cny(0) }), nil},
		{"missing customer", valid(func(in *domain.Interaction) { in.CustomerID = "" }), []string{"customer_id"}},
		{"customer not a uuid", valid(func(in *domain.Interaction) { in.CustomerID = "customers/42" }), []string{"customer_id"}},
		{"unknown kind", valid(func(in *domain.Interaction) { in.Kind = "gossip"; in.Purchase = nil }), []string{"kind"}},
		{"unknown channel", valid(func(in *domain.Interaction) { in.Channel = "pigeon" }), []string{"channel"}},
		{"purchase kind without purchase", valid(func(in *domain.Interaction) { in.Kind = domain.KindPurchase; in.Purchase = nil }), []string{"purchase"}},
		{"call with purchase", valid(func(in *domain.Interaction) { in.Kind = domain.KindCall }), []string{"purchase"}},
		{"missing total", valid(func(in *domain.Interaction) { in.Purchase.Total = domain.Money{}; in.Purchase.Lines = nil }), []string{"purchase.total"}},
		{"negative total", valid(func(in *domain.Interaction) { in.Purchase.Total = cny(-100) }), []string{"purchase.total.amount_minor"}},
		{"zero total", valid(func(in *domain.Interaction) { in.Purchase.Total = cny(0) }), []string{"purchase.total.amount_minor"}},
		{"largest total", valid(func(in *domain.Interaction) {
			in.Purchase.Total = cny(domain.MaxAmountMinor)
			in.Purchase.Lines[0].UnitPrice = cny(domain.MaxAmountMinor)
		}), nil},
		{"total too large", valid(func(in *domain.Interaction) { in.Purchase.Total = cny(domain.MaxAmountMinor + 1) }), []string{"purchase.total.amount_minor"}},
		{"unit price too large", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].UnitPrice = cny(domain.MaxAmountMinor + 1) }), []string{"purchase.lines[0].unit_price.amount_minor"}},
		{"lower-case currency", valid(func(in *domain.Interaction) {
			in.Purchase.Total.CurrencyCode = "cny"
			in.Purchase.Lines = nil
		}), []string{"purchase.total.currency_code"}},
		{"currency of 4 letters", valid(func(in *domain.Interaction) {
			in.Purchase.Total.CurrencyCode = "CNYY"
			in.Purchase.Lines = nil
		}), []string{"purchase.total.currency_code"}},
		{"zero quantity", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].Quantity = 0 }), []string{"purchase.lines[0].quantity"}},
		{"negative quantity", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].Quantity = -1 }), []string{"purchase.lines[0].quantity"}},
		{"line in other currency", valid(func(in *domain.Interaction) {
			in.Purchase.Lines = append(in.Purchase.Lines, domain.PurchaseLine{Quantity: 1, UnitPrice: domain.Money{CurrencyCode: "USD", AmountMinor: 1}})
		}), []string{"purchase.lines[1].unit_price.currency_code"}},
		{"line without price", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].UnitPrice = domain.Money{} }), []string{"purchase.lines[0].unit_price.currency_code"}},
		{"negative unit price", valid(func(in *domain.Interaction) { in.Purchase.Lines[0].UnitPrice = cny(-1) }), []string{"purchase.lines[0].unit_price.amount_minor"}},
		{"occur time 23h ahead", valid(func(in *domain.Interaction) { in.OccurTime = now.Add(23 * time.Hour) }), nil},
		{"occur time 25h ahead", valid(func(in *domain.Interaction) { in.OccurTime = now.Add(25 * time.Hour) }), []string{"occur_time"}},
		{"summary of 2000 Chinese characters", valid(func(in *domain.Interaction) { in.Summary = strings.Repeat("关", 2000) }), nil},
		{"summary of 2001 characters", valid(func(in *domain.Interaction) { in.Summary = strings.Repeat("关", 2001) }), []string{"summary"}},
		{"source id without source", valid(func(in *domain.Interaction) { in.SourceID = "T-1" }), []string{"source"}},
		{"source id too long", valid(func(in *domain.Interaction) { in.Source = "pos"; in.SourceID = strings.Repeat("x", 257) }), []string{"source_id"}},
		{"several faults at once", valid(func(in *domain.Interaction) {
			in.CustomerID = ""
			in.Purchase.Total = cny(-1)
		}), []string{"customer_id", "purchase.total.amount_minor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range tt.in.Validate(now) {
				got = append(got, v.Field)
			}
			if !slices.Equal(got, tt.wantFields) {
				t.Errorf("violated fields = %q, want %q", got, tt.wantFields)
			}
		})
	}
}

func TestRecordedEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    domain.Interaction
		types []string
	}{
		{"note", domain.Interaction{ID: "n", Kind: domain.KindNote}, []string{"InteractionRecorded"}},
		{"purchase", domain.Interaction{ID: "p", Kind: domain.KindPurchase, Purchase: purchase()}, []string{"InteractionRecorded", "PurchaseRecorded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evs := domain.RecordedEvents(tt.in)
			var got []string
			for _, e := range evs {
				switch e := e.(type) {
				case domain.InteractionRecorded:
					got = append(got, "InteractionRecorded")
				case domain.PurchaseRecorded:
					got = append(got, "PurchaseRecorded")
					if e.InteractionID != tt.in.ID || e.Total != tt.in.Purchase.Total || e.OrderID != "SO-1" {
						t.Errorf("purchase event = %+v", e)
					}
				}
			}
			if !slices.Equal(got, tt.types) {
				t.Errorf("events = %v, want %v", got, tt.types)
			}
		})
	}
}
