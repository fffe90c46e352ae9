package domain

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/width"
)

// DefaultPhoneRegion is the country a phone number without a country code
// is read in.
const DefaultPhoneRegion = "CN"

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

// normalizePhone returns the E.164 form of a number as people type it
// ("138 0013 8000", "+1 (415) 555-2671", "021-6212 3456"); numbers without
// a country code are read as Chinese.
func normalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 40 {
		return "", fmt.Errorf("is too long for a phone number")
	}
	if e164, ok := chineseMobile(s); ok {
		return e164, nil
	}
	num, err := phonenumbers.Parse(s, DefaultPhoneRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("is not a valid phone number (numbers without a +country code are read as Chinese)")
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// phonenumbers takes some German numbers of 16 digits as valid; E.164
	// allows 15 (found by FuzzNormalizePhone).
	if len(e164) > 1+maxE164Digits {
		return "", fmt.Errorf("has more than %d digits, the most an international number has", maxE164Digits)
	}
	return e164, nil
}

// maxE164Digits is the most digits an E.164 number has, country code
// included.
const maxE164Digits = 15

// cnMobile is libphonenumber's own pattern of Chinese mobile numbers
// (national, 11 digits), read from its metadata so it stays in step with
// the library.
var cnMobile = func() *regexp.Regexp {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		panic(err)
	}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == "CN" {
			return regexp.MustCompile(`^(?:` + md.GetMobile().GetNationalNumberPattern() + `)$`)
		}
	}
	panic("phonenumbers: no metadata for CN")
}()

// chineseMobile is the fast path of normalizePhone for the numbers most
// customer lists are made of: a Chinese mobile written as 11 plain digits,
// with or without +86. Parsing those with phonenumbers costs about 15µs
// each, most of a bulk import's CPU; the mobile pattern decides them with
// the same answer (a test compares both on every prefix).
func chineseMobile(s string) (string, bool) {
	national := strings.TrimPrefix(s, "+86")
	if len(national) != 11 || national[0] != '1' {
		return "", false
	}
	for i := 1; i < len(national); i++ {
		if national[i] < '0' || national[i] > '9' {
			return "", false
		}
	}
	if !cnMobile.MatchString(national) {
		return "", false
	}
	return "+86" + national, true
}

// Contact is one email address or phone number of a customer, as duplicate
// checks compare them.
type Contact struct {
	// Field is the profile field that holds it: "email", "phone",
	// "other_emails" or "other_phones".
	Field string
	// Value is the normalized address or number.
	Value string
}

// Key is the form contacts are compared in: "email:" plus the lowercased
// address (two addresses differing only in case reach the same person in
// practice), or "phone:" plus the E.164 number.
func (c Contact) Key() string {
	if strings.HasSuffix(c.Field, "phones") || c.Field == "phone" {
		return "phone:" + c.Value
	}
	return "email:" + strings.ToLower(c.Value)
}

// ContactKey is the Key of a contact as a caller typed it, normalized the
// way profiles are ("138 0013 8000" is "phone:+8613800138000"); a value
// that does not normalize is compared as typed and matches nothing stored.
func ContactKey(kind, value string) string {
	norm, field := normalizeEmail, "email"
	if kind == "phone" {
		norm, field = normalizePhone, "phone"
	}
	if n, err := norm(value); err == nil {
		value = n
	}
	return Contact{Field: field, Value: strings.TrimSpace(value)}.Key()
}

// Contacts lists every email and phone of p, primary first, without
// repeats.
func (p Profile) Contacts() []Contact {
	var out []Contact
	var keys []string // of out; a profile has a handful of contacts
	add := func(field, value string) {
		if value == "" {
			return
		}
		c := Contact{Field: field, Value: value}
		if k := c.Key(); !slices.Contains(keys, k) {
			keys = append(keys, k)
			out = append(out, c)
		}
	}
	add("email", p.Email)
	for _, e := range p.OtherEmails {
		add("other_emails", e)
	}
	add("phone", p.Phone)
	for _, ph := range p.OtherPhones {
		add("other_phones", ph)
	}
	return out
}

// NameKey is the form names are compared in when looking for duplicates:
// full-width letters and digits folded to their ASCII forms, lowercase,
// without spaces or punctuation, and Latin words sorted so "Wang Xiaoming"
// and "XIAOMING wang" meet. Chinese, Japanese and Korean names are kept in
// character order, as their order carries meaning ("王小明" is not
// "小明王").
func NameKey(name string) string {
	folded := strings.ToLower(width.Fold.String(name))
	words := strings.FieldsFunc(folded, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 1 && !hasCJK(folded) {
		slices.Sort(words)
	}
	return strings.Join(words, "")
}

// hasCJK reports whether s holds Han, Hiragana, Katakana or Hangul.
func hasCJK(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return true
		}
	}
	return false
}

// SearchText is what free-text queries match against: the folded name, the
// name key, every email lowercased and every phone in E.164, so "小明",
// "13800138000" (the national number is the tail of the E.164 form) and
// "acme.com" all find the customer by substring.
func (p Profile) SearchText() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(width.Fold.String(p.DisplayName)))
	b.WriteByte(' ')
	b.WriteString(NameKey(p.DisplayName))
	for _, c := range p.Contacts() {
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(c.Value))
	}
	return b.String()
}

// SearchTerms splits a free-text query into the terms that must each occur
// in SearchText: folded and lowercased like it, and phone numbers typed
// with separators ("138-0013-8000") reduced to their digits.
func SearchTerms(query string) []string {
	folded := strings.ToLower(width.Fold.String(query))
	var terms []string
	for _, t := range strings.Fields(folded) {
		if strings.Trim(t, "0123456789+-().") == "" {
			if digits := strings.Map(dropSeparator, t); len(digits) >= 3 {
				t = digits
			}
		}
		terms = append(terms, t)
	}
	return terms
}

func dropSeparator(r rune) rune {
	if r == '-' || r == '(' || r == ')' || r == '.' {
		return -1
	}
	return r
}
