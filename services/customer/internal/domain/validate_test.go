package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

var defs = domain.Definitions{
	"city":  {Name: "city", Type: domain.AttrString},
	"level": {Name: "level", Type: domain.AttrEnum, EnumValues: []string{"silver", "gold"}},
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	valid := domain.Profile{DisplayName: "王小明", OwnerID: "am-li"}
	with := func(f func(p *domain.Profile)) domain.Profile {
		p := valid
		f(&p)
		return p
	}
	manyTags := make([]string, 51)
	for i := range manyTags {
		manyTags[i] = strings.Repeat("t", i+1)
	}
	tests := []struct {
		name string
		in   domain.Profile
		want domain.Profile
		// bad lists the fields that must be reported, in order; empty
		// means the profile is valid and normalizes to want.
		bad []string
	}{
		{name: "minimal person", in: valid, want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明"}},
		{name: "organization kept", in: with(func(p *domain.Profile) { p.Type = domain.TypeOrganization }),
			want: domain.Profile{Type: domain.TypeOrganization, DisplayName: "王小明"}},
		{name: "unknown type", in: with(func(p *domain.Profile) { p.Type = 7 }), bad: []string{"type"}},
		{name: "display name trimmed", in: with(func(p *domain.Profile) { p.DisplayName = "  Acme Ltd \t" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "Acme Ltd"}},
		{name: "display name missing", in: domain.Profile{OwnerID: "o"}, bad: []string{"display_name"}},
		{name: "display name blank", in: domain.Profile{DisplayName: " \n ", OwnerID: "o"}, bad: []string{"display_name"}},
		{name: "display name 200 runes", in: with(func(p *domain.Profile) { p.DisplayName = strings.Repeat("名", 200) }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: strings.Repeat("名", 200)}},
		{name: "display name 201 runes", in: with(func(p *domain.Profile) { p.DisplayName = strings.Repeat("名", 201) }), bad: []string{"display_name"}},
		{name: "email domain lowercased", in: with(func(p *domain.Profile) { p.Email = " Li.Wei@Example.COM " }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Email: "Li.Wei@example.com"}},
		{name: "email without at", in: with(func(p *domain.Profile) { p.Email = "li.example.com" }), bad: []string{"email"}},
		{name: "email with display name", in: with(func(p *domain.Profile) { p.Email = "Li <li@example.com>" }), bad: []string{"email"}},
		{name: "email two ats", in: with(func(p *domain.Profile) { p.Email = "a@b@example.com" }), bad: []string{"email"}},
		{name: "email empty domain", in: with(func(p *domain.Profile) { p.Email = "li@" }), bad: []string{"email"}},
		{name: "phone separators removed", in: with(func(p *domain.Profile) { p.Phone = "+86 (138) 0013-8000" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Phone: "+8613800138000"}},
		{name: "phone national CN mobile", in: with(func(p *domain.Profile) { p.Phone = "138 0013 8000" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Phone: "+8613800138000"}},
		{name: "phone CN landline", in: with(func(p *domain.Profile) { p.Phone = "021-6212 3456" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Phone: "+862162123456"}},
		{name: "phone US", in: with(func(p *domain.Profile) { p.Phone = "+1 (415) 555-2671" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Phone: "+14155552671"}},
		{name: "phone too short", in: with(func(p *domain.Profile) { p.Phone = "1234" }), bad: []string{"phone"}},
		{name: "phone not a number", in: with(func(p *domain.Profile) { p.Phone = "138 0013 800O" }), bad: []string{"phone"}},
		{name: "phone plus inside", in: with(func(p *domain.Profile) { p.Phone = "86+13800138000" }), bad: []string{"phone"}},
		{name: "other phones normalized and deduped", in: with(func(p *domain.Profile) {
			p.Phone = "13800138000"
			p.OtherPhones = []string{"+86 138 0013 8000", "139-0013-9000", "+8613900139000"}
		}), want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Phone: "+8613800138000", OtherPhones: []string{"+8613900139000"}}},
		{name: "other email invalid", in: with(func(p *domain.Profile) { p.OtherEmails = []string{"ok@x.com", "bad"} }), bad: []string{"other_emails[1]"}},
		{name: "owner required", in: with(func(p *domain.Profile) { p.OwnerID = " " }), bad: []string{"owner_id"}},
		{name: "unknown kind", in: with(func(p *domain.Profile) { p.Kind = 99 }), bad: []string{"kind"}},
		{name: "birthday without year", in: with(func(p *domain.Profile) { p.Birthday = &domain.Date{Month: 2, Day: 29} }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Birthday: &domain.Date{Month: 2, Day: 29}}},
		{name: "birthday impossible", in: with(func(p *domain.Profile) { p.Birthday = &domain.Date{Year: 2023, Month: 2, Day: 29} }), bad: []string{"birthday"}},
		{name: "address defaults to CN", in: with(func(p *domain.Profile) { p.Addresses = []domain.Address{{City: " 杭州市 "}} }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Addresses: []domain.Address{{CountryCode: "CN", City: "杭州市"}}}},
		{name: "address bad country", in: with(func(p *domain.Profile) { p.Addresses = []domain.Address{{CountryCode: "XX", City: "A"}} }), bad: []string{"addresses[0].country_code"}},
		{name: "undeclared attribute", in: with(func(p *domain.Profile) {
			p.Attributes = map[string]domain.AttributeValue{"shoe_size": {Type: domain.AttrNumber, Num: 42}}
		}), bad: []string{"attributes.shoe_size"}},
		{name: "attribute of wrong type", in: with(func(p *domain.Profile) {
			p.Attributes = map[string]domain.AttributeValue{"city": {Type: domain.AttrNumber, Num: 1}}
		}), bad: []string{"attributes.city"}},
		{name: "enum attribute outside its values", in: with(func(p *domain.Profile) {
			p.Attributes = map[string]domain.AttributeValue{"level": {Type: domain.AttrEnum, Str: "platinum"}}
		}), bad: []string{"attributes.level"}},
		{name: "declared attributes", in: with(func(p *domain.Profile) {
			p.Attributes = map[string]domain.AttributeValue{"city": {Type: domain.AttrString, Str: " Hangzhou "}, "level": {Type: domain.AttrEnum, Str: "gold"}}
		}), want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Attributes: map[string]domain.AttributeValue{
			"city": {Type: domain.AttrString, Str: "Hangzhou"}, "level": {Type: domain.AttrEnum, Str: "gold"}}}},
		{name: "locale canonical", in: with(func(p *domain.Profile) { p.Locale = "zh-cn" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Locale: "zh-CN"}},
		{name: "locale script", in: with(func(p *domain.Profile) { p.Locale = "zh-Hant-TW" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Locale: "zh-Hant-TW"}},
		{name: "locale garbage", in: with(func(p *domain.Profile) { p.Locale = "not a locale!" }), bad: []string{"locale"}},
		{name: "time zone", in: with(func(p *domain.Profile) { p.TimeZone = "Europe/Berlin" }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", TimeZone: "Europe/Berlin"}},
		{name: "time zone unknown", in: with(func(p *domain.Profile) { p.TimeZone = "Mars/Olympus" }), bad: []string{"time_zone"}},
		{name: "time zone Local", in: with(func(p *domain.Profile) { p.TimeZone = "Local" }), bad: []string{"time_zone"}},
		{name: "tags trimmed and deduped", in: with(func(p *domain.Profile) { p.Tags = []string{" vip ", "批发", "vip", "批发 "} }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Tags: []string{"vip", "批发"}}},
		{name: "tag empty", in: with(func(p *domain.Profile) { p.Tags = []string{"vip", "  "} }), bad: []string{"tags[1]"}},
		{name: "tag too long", in: with(func(p *domain.Profile) { p.Tags = []string{strings.Repeat("x", 101)} }), bad: []string{"tags[0]"}},
		{name: "fifty tags", in: with(func(p *domain.Profile) { p.Tags = manyTags[:50] }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Tags: manyTags[:50]}},
		{name: "fifty one tags", in: with(func(p *domain.Profile) { p.Tags = manyTags }), bad: []string{"tags"}},
		{name: "fifty one tags with repeats", in: with(func(p *domain.Profile) { p.Tags = append(slices.Clone(manyTags[:50]), manyTags[0]) }),
			want: domain.Profile{Type: domain.TypePerson, DisplayName: "王小明", Tags: manyTags[:50]}},
		{name: "every violation at once", in: domain.Profile{Email: "x", Phone: "1", Locale: "!!", TimeZone: "Nowhere", Tags: []string{""}},
			bad: []string{"display_name", "email", "phone", "locale", "time_zone", "tags[0]", "owner_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.in.Normalize(defs)
			if len(tt.bad) == 0 {
				tt.want.Kind, tt.want.Stage, tt.want.OwnerID = domain.KindEndCustomer, domain.StageProspect, "am-li"
				if err != nil {
					t.Fatalf("Normalize() error = %v, want none", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Normalize() (-want +got):\n%s", diff)
				}
				again, err := got.Normalize(defs)
				if err != nil || !cmp.Equal(got, again) {
					t.Errorf("normalizing twice changed the profile: %v, %v", again, err)
				}
				return
			}
			var ve *validation.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Normalize() error = %v, want *validation.Error", err)
			}
			var fields []string
			for _, v := range ve.Violations {
				fields = append(fields, v.Field)
				if v.Description == "" {
					t.Errorf("violation of %s has no description", v.Field)
				}
			}
			if diff := cmp.Diff(tt.bad, fields); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	later := created.Add(time.Hour)
	base, err := domain.NewCustomer("id-1", domain.Profile{
		DisplayName: "Acme", Email: "a@acme.com", Tags: []string{"vip"}, OwnerID: "am-li",
	}, defs, created)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		values      domain.Profile
		fields      []domain.Field
		wantChanged []domain.Field
		check       func(t *testing.T, c domain.Customer)
		wantErr     bool
	}{
		{
			name:        "only masked fields are written",
			values:      domain.Profile{DisplayName: "Acme Ltd", Email: "ignored@x.com"},
			fields:      []domain.Field{domain.FieldDisplayName},
			wantChanged: []domain.Field{domain.FieldDisplayName},
			check: func(t *testing.T, c domain.Customer) {
				if c.DisplayName != "Acme Ltd" || c.Email != "a@acme.com" {
					t.Errorf("got %q %q", c.DisplayName, c.Email)
				}
			},
		},
		{
			name:        "masked empty value clears",
			values:      domain.Profile{},
			fields:      []domain.Field{domain.FieldEmail, domain.FieldTags},
			wantChanged: []domain.Field{domain.FieldEmail, domain.FieldTags},
			check: func(t *testing.T, c domain.Customer) {
				if c.Email != "" || c.Tags != nil {
					t.Errorf("got %q %v", c.Email, c.Tags)
				}
			},
		},
		{
			name:   "same value after normalizing is no change",
			values: domain.Profile{DisplayName: " Acme ", Email: "a@ACME.com", Tags: []string{"vip", "vip"}},
			fields: []domain.Field{domain.FieldDisplayName, domain.FieldEmail, domain.FieldTags},
		},
		{
			name:   "unspecified type stays a person",
			values: domain.Profile{},
			fields: []domain.Field{domain.FieldType},
		},
		{
			name:        "type change",
			values:      domain.Profile{Type: domain.TypeOrganization},
			fields:      []domain.Field{domain.FieldType},
			wantChanged: []domain.Field{domain.FieldType},
		},
		{
			name:    "invalid value",
			values:  domain.Profile{},
			fields:  []domain.Field{domain.FieldDisplayName},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed, err := base.Apply(tt.values, tt.fields, defs, later)
			if tt.wantErr {
				var ve *validation.Error
				if !errors.As(err, &ve) {
					t.Fatalf("Apply() error = %v, want *validation.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			if diff := cmp.Diff(tt.wantChanged, changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if len(tt.wantChanged) == 0 {
				if diff := cmp.Diff(base, got); diff != "" {
					t.Errorf("no-op apply changed the customer (-want +got):\n%s", diff)
				}
				return
			}
			if got.Version != base.Version+1 || !got.UpdateTime.Equal(later) || !got.CreateTime.Equal(created) {
				t.Errorf("version %d update %v create %v", got.Version, got.UpdateTime, got.CreateTime)
			}
			if got.Etag() == base.Etag() {
				t.Errorf("etag did not change: %s", got.Etag())
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestCheckEtag(t *testing.T) {
	t.Parallel()
	c, err := domain.NewCustomer("id", domain.Profile{DisplayName: "A", OwnerID: "o"}, defs, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		etag string
		want error
	}{
		{"", nil},
		{c.Etag(), nil},
		{"2", domain.ErrStale},
		{"garbage", domain.ErrStale},
	} {
		if got := c.CheckEtag(tt.etag); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
			t.Errorf("CheckEtag(%q) = %v, want %v", tt.etag, got, tt.want)
		}
	}
}

func TestLocationDefault(t *testing.T) {
	t.Parallel()
	c, err := domain.NewCustomer("id", domain.Profile{DisplayName: "A", OwnerID: "o"}, defs, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := c.Location()
	if err != nil || loc.String() != domain.DefaultTimeZone {
		t.Fatalf("Location() = %v, %v; want %s", loc, err, domain.DefaultTimeZone)
	}
}
