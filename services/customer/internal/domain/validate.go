package domain

import (
	"fmt"
	"net/mail"
	"strings"
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
	MinPhoneDigits      = 5
	MaxPhoneDigits      = 20
	MaxTags             = 50
	MaxTagRunes         = 100
)

// Normalize returns p in its stored form (trimmed, canonical, defaulted) or a
// *validation.Error listing every field that breaks a rule. Normalizing a
// normalized profile changes nothing.
func (p Profile) Normalize() (Profile, error) {
	var v validation.Violations
	out := Profile{}

	switch p.Type {
	case TypeUnspecified:
		out.Type = TypePerson
	case TypePerson, TypeOrganization:
		out.Type = p.Type
	default:
		v.Add(string(FieldType), fmt.Sprintf("unknown customer type %d", int(p.Type)))
	}

	out.DisplayName = strings.TrimSpace(p.DisplayName)
	switch n := utf8.RuneCountInString(out.DisplayName); {
	case n == 0:
		v.Add(string(FieldDisplayName), "is required")
	case n > MaxDisplayNameRunes:
		v.Add(string(FieldDisplayName), fmt.Sprintf("must be at most %d characters, got %d", MaxDisplayNameRunes, n))
	}

	if email, err := normalizeEmail(p.Email); err != nil {
		v.Add(string(FieldEmail), err.Error())
	} else {
		out.Email = email
	}

	if phone, err := normalizePhone(p.Phone); err != nil {
		v.Add(string(FieldPhone), err.Error())
	} else {
		out.Phone = phone
	}

	if locale, err := normalizeLocale(p.Locale); err != nil {
		v.Add(string(FieldLocale), err.Error())
	} else {
		out.Locale = locale
	}

	if tz, err := normalizeTimeZone(p.TimeZone); err != nil {
		v.Add(string(FieldTimeZone), err.Error())
	} else {
		out.TimeZone = tz
	}

	out.Tags = normalizeTags(p.Tags, &v)

	if err := v.Err(); err != nil {
		return Profile{}, err
	}
	return out, nil
}

// normalizeEmail accepts a bare address (no display name, no angle
// brackets) and lowercases its domain, which is case-insensitive; the local
// part is left alone because mail servers may treat it case-sensitively.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailLength {
		return "", fmt.Errorf("must be at most %d bytes", MaxEmailLength)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", fmt.Errorf("is not a valid email address")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", fmt.Errorf("is not a valid email address")
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

// normalizePhone strips the separators people type (spaces, dashes,
// parentheses), keeping digits and an optional leading "+", so the same
// number always compares equal.
func normalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	var b strings.Builder
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("may hold only digits, spaces, dashes, parentheses and a leading +")
		}
	}
	if digits < MinPhoneDigits || digits > MaxPhoneDigits {
		return "", fmt.Errorf("must have %d to %d digits, got %d", MinPhoneDigits, MaxPhoneDigits, digits)
	}
	return b.String(), nil
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
	if _, err := time.LoadLocation(s); err != nil {
		return "", fmt.Errorf("is not a known IANA time zone")
	}
	return s, nil
}

// normalizeTags trims every tag and drops repeats, keeping the first
// occurrence's position.
func normalizeTags(tags []string, v *validation.Violations) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		field := fmt.Sprintf("%s[%d]", FieldTags, i)
		switch n := utf8.RuneCountInString(t); {
		case n == 0:
			v.Add(field, "must not be empty")
			continue
		case n > MaxTagRunes:
			v.Add(field, fmt.Sprintf("must be at most %d characters", MaxTagRunes))
			continue
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		v.Add(string(FieldTags), fmt.Sprintf("must hold at most %d tags, got %d", MaxTags, len(out)))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
