package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	// The zone database is embedded so time zones validate the same on a
	// minimal container image without /usr/share/zoneinfo.
	_ "time/tzdata"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Limits of the profile rules.
const (
	MaxDisplayNameRunes = 200
	MaxEmailLength      = 254
	MaxTags             = 50
	MaxTagRunes         = 100
	MaxOtherContacts    = 20
	MaxAddresses        = 20
	MaxAddressRunes     = 200
	MaxIDLength         = 200
)

// Normalize returns p in its stored form (trimmed, canonical, defaulted) or a
// *validation.Error listing every field that breaks a rule. Attributes are
// checked against defs. Normalizing a normalized profile changes nothing.
func (p Profile) Normalize(defs Definitions) (Profile, error) {
	var v validation.Violations
	out := Profile{}

	out.Type = normalizeEnum(p.Type, TypePerson, len(typeNames), FieldType, &v)
	out.Kind = normalizeEnum(p.Kind, KindEndCustomer, len(kindNames), FieldKind, &v)
	out.Stage = normalizeEnum(p.Stage, StageProspect, len(stageNames), FieldStage, &v)

	out.DisplayName = strings.TrimSpace(p.DisplayName)
	switch n := utf8.RuneCountInString(out.DisplayName); {
	case n == 0:
		v.Add(string(FieldDisplayName), "is required")
	case n > MaxDisplayNameRunes:
		v.Add(string(FieldDisplayName), fmt.Sprintf("must be at most %d characters, got %d", MaxDisplayNameRunes, n))
	}

	out.Email = normalizeOne(p.Email, normalizeEmail, string(FieldEmail), &v)
	out.Phone = normalizeOne(p.Phone, normalizePhone, string(FieldPhone), &v)
	out.OtherEmails = normalizeList(p.OtherEmails, out.Email, normalizeEmail, string(FieldOtherEmails), &v)
	out.OtherPhones = normalizeList(p.OtherPhones, out.Phone, normalizePhone, string(FieldOtherPhones), &v)

	out.Locale = normalizeOne(p.Locale, normalizeLocale, string(FieldLocale), &v)
	out.TimeZone = normalizeOne(p.TimeZone, normalizeTimeZone, string(FieldTimeZone), &v)
	out.Tags = normalizeTags(p.Tags, &v)
	out.Addresses = normalizeAddresses(p.Addresses, &v)

	if p.Birthday != nil {
		if !p.Birthday.Valid(false) {
			v.Add(string(FieldBirthday), "is not a valid date")
		} else if p.Birthday.Year != 0 && p.Birthday.Year < 1850 {
			v.Add(string(FieldBirthday), "must be after 1850")
		} else {
			b := *p.Birthday
			out.Birthday = &b
		}
	}

	out.Attributes = normalizeAttributes(p.Attributes, defs, &v)

	out.OwnerID = normalizeID(p.OwnerID, string(FieldOwnerID), &v)
	if out.OwnerID == "" {
		v.Add(string(FieldOwnerID), "is required: every customer has an owning account manager")
	}
	out.TeamID = normalizeID(p.TeamID, string(FieldTeamID), &v)
	out.ExternalID = normalizeID(p.ExternalID, string(FieldExternalID), &v)

	if err := v.Err(); err != nil {
		return Profile{}, err
	}
	return out, nil
}

func normalizeEnum[T ~int](val, def T, count int, f Field, v *validation.Violations) T {
	switch {
	case val == 0:
		return def
	case val < 0 || int(val) >= count:
		v.Add(string(f), fmt.Sprintf("unknown value %d", int(val)))
	}
	return val
}

func normalizeOne(s string, norm func(string) (string, error), field string, v *validation.Violations) string {
	out, err := norm(s)
	if err != nil {
		v.Add(field, err.Error())
	}
	return out
}

// normalizeList normalizes each entry, dropping empty ones, repeats and
// copies of the primary value.
func normalizeList(list []string, primary string, norm func(string) (string, error), field string, v *validation.Violations) []string {
	var out []string
	for i, s := range list {
		n, err := norm(s)
		switch {
		case err != nil:
			v.Add(fmt.Sprintf("%s[%d]", field, i), err.Error())
		case n == "", n == primary, slices.Contains(out, n):
		default:
			out = append(out, n)
		}
	}
	if len(out) > MaxOtherContacts {
		v.Add(field, fmt.Sprintf("must hold at most %d entries", MaxOtherContacts))
	}
	return out
}

func normalizeID(s, field string, v *validation.Violations) string {
	s = strings.TrimSpace(s)
	if len(s) > MaxIDLength {
		v.Add(field, fmt.Sprintf("must be at most %d bytes", MaxIDLength))
	}
	return s
}

// normalizeLocale returns the canonical form of a BCP 47 tag ("zh-cn" ->
// "zh-CN").
func normalizeLocale(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("is not a BCP 47 language tag")
	}
	return tag.String(), nil
}

// normalizeTimeZone accepts IANA zone names. "Local" is refused because it
// means whatever zone the server happens to run in.
func normalizeTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if s == "Local" {
		return "", fmt.Errorf("must be an IANA time zone name")
	}
	if _, known := knownZones.Load(s); known {
		return s, nil
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", fmt.Errorf("is not a known IANA time zone")
	}
	knownZones.Store(s, true)
	return s, nil
}

// knownZones caches the zone names that loaded: loading parses the zone
// database each time, which bulk imports would pay per row.
var knownZones sync.Map

// normalizeTags trims every tag and drops repeats, keeping the first
// occurrence's position.
func normalizeTags(tags []string, v *validation.Violations) []string {
	var out []string
	for i, t := range tags {
		t = strings.TrimSpace(t)
		field := fmt.Sprintf("%s[%d]", FieldTags, i)
		switch n := utf8.RuneCountInString(t); {
		case n == 0:
			v.Add(field, "must not be empty")
		case n > MaxTagRunes:
			v.Add(field, fmt.Sprintf("must be at most %d characters", MaxTagRunes))
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		v.Add(string(FieldTags), fmt.Sprintf("must hold at most %d tags, got %d", MaxTags, len(out)))
	}
	return out
}

func normalizeAddresses(addrs []Address, v *validation.Violations) []Address {
	if len(addrs) > MaxAddresses {
		v.Add(string(FieldAddresses), fmt.Sprintf("must hold at most %d addresses", MaxAddresses))
		return nil
	}
	var out []Address
	for i, a := range addrs {
		prefix := fmt.Sprintf("%s[%d].", FieldAddresses, i)
		n := Address{
			Label:       strings.TrimSpace(a.Label),
			CountryCode: strings.ToUpper(strings.TrimSpace(a.CountryCode)),
			Region:      strings.TrimSpace(a.Region),
			City:        strings.TrimSpace(a.City),
			District:    strings.TrimSpace(a.District),
			PostalCode:  strings.TrimSpace(a.PostalCode),
		}
		if n.CountryCode == "" {
			n.CountryCode = DefaultPhoneRegion
		} else if r, err := language.ParseRegion(n.CountryCode); err != nil || !r.IsCountry() || len(n.CountryCode) != 2 {
			v.Add(prefix+"country_code", "is not an ISO 3166-1 alpha-2 country code")
		}
		for j, l := range a.Lines {
			if l = strings.TrimSpace(l); l != "" {
				n.Lines = append(n.Lines, l)
			} else {
				v.Add(fmt.Sprintf("%slines[%d]", prefix, j), "must not be empty")
			}
		}
		for _, f := range []struct{ name, value string }{{"label", n.Label}, {"region", n.Region}, {"city", n.City},
			{"district", n.District}, {"lines", strings.Join(n.Lines, "\n")}, {"postal_code", n.PostalCode}} {
			if utf8.RuneCountInString(f.value) > MaxAddressRunes {
				v.Add(prefix+f.name, fmt.Sprintf("must be at most %d characters", MaxAddressRunes))
			}
		}
		if n.Region == "" && n.City == "" && len(n.Lines) == 0 {
			v.Add(prefix+"lines", "an address needs at least lines, a city or a region")
		}
		out = append(out, n)
	}
	return out
}

func normalizeAttributes(attrs map[string]AttributeValue, defs Definitions, v *validation.Violations) map[string]AttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	if len(attrs) > MaxAttributes {
		v.Add(string(FieldAttributes), fmt.Sprintf("must hold at most %d attributes", MaxAttributes))
		return nil
	}
	out := make(map[string]AttributeValue, len(attrs))
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		val, reason := defs.checkValue(name, attrs[name])
		if reason != "" {
			v.Add(string(FieldAttributes)+"."+name, reason)
			continue
		}
		out[name] = val
	}
	return out
}
