package domain

import (
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Language is the language a message is written in.
type Language string

// The languages templates are written in.
const (
	LanguageChinese Language = "zh"
	LanguageEnglish Language = "en"
)

// The locales templates are saved under.
const (
	LocaleChinese = "zh-CN"
	LocaleEnglish = "en"
)

// LanguageFor picks the template language for a BCP 47 locale. Chinese
// locales, and an unknown (empty) locale because the default market is
// China, get Chinese; every other locale gets English, the one other
// language templates exist in.
func LanguageFor(locale string) Language {
	l := strings.ToLower(strings.TrimSpace(locale))
	if l == "" || l == "zh" || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh_") {
		return LanguageChinese
	}
	return LanguageEnglish
}

// TemplateLocale is the template locale serving a customer's locale.
func TemplateLocale(locale string) string {
	if LanguageFor(locale) == LanguageChinese {
		return LocaleChinese
	}
	return LocaleEnglish
}

// Template is the text of one kind of message on one channel in one
// locale. Subject and Body refer to variables as {{name}}; nothing else is
// interpreted, so a value can never run as template code.
type Template struct {
	Kind    string
	Channel Channel
	Locale  string
	Subject string
	Body    string
	// HTMLBody, for email only, is sent with Body as its text part
	// (multipart/alternative); values are HTML-escaped into it.
	HTMLBody   string
	Builtin    bool
	UpdateTime time.Time
}

// Key identifies a template.
func (t Template) Key() TemplateKey { return TemplateKey{t.Kind, t.Channel, t.Locale} }

// TemplateKey identifies a template.
type TemplateKey struct {
	Kind    string
	Channel Channel
	Locale  string
}

// Validate checks a template before it is saved: its kind, channel and
// locale, that its text parses, names only variables its kind provides
// and uses those its kind requires. It is the reason a message never
// fails to render at send time.
func (t Template) Validate() validation.Violations {
	var v validation.Violations
	kind, ok := LookupKind(t.Kind)
	if !ok {
		v.Add("template.kind", "must be a built-in kind or lower-case letters, digits and '_' (2-63)")
	}
	switch t.Channel {
	case ChannelEmail, ChannelSMS, ChannelWebhook:
	default:
		v.Add("template.channel", "must be EMAIL, SMS or WEBHOOK")
	}
	if ok && kind.Agent != (t.Channel == ChannelWebhook) && t.Channel.Valid() {
		if kind.Agent {
			v.Add("template.channel", "agent notices go out by WEBHOOK")
		} else {
			v.Add("template.channel", "customer messages go out by EMAIL or SMS")
		}
	}
	if t.Locale != LocaleChinese && t.Locale != LocaleEnglish {
		v.Add("template.locale", "must be zh-CN or en")
	}
	if strings.TrimSpace(t.Body) == "" {
		v.Add("template.body", "is required")
	}
	if len(t.Subject) > 500 {
		v.Add("template.subject", "must be at most 500 bytes")
	}
	if len(t.Body) > 20000 {
		v.Add("template.body", "must be at most 20000 bytes")
	}
	if t.HTMLBody != "" && t.Channel != ChannelEmail {
		v.Add("template.html_body", "only email templates have an HTML body")
	}
	if len(t.HTMLBody) > 100000 {
		v.Add("template.html_body", "must be at most 100000 bytes")
	}
	used := map[string]bool{}
	for _, part := range []struct{ field, text string }{{"template.subject", t.Subject}, {"template.body", t.Body}, {"template.html_body", t.HTMLBody}} {
		names, err := variablesIn(part.text)
		if err != nil {
			v.Add(part.field, err.Error())
			continue
		}
		for _, n := range names {
			used[n] = true
			if ok && !kind.Provides(n) {
				v.Add(part.field, fmt.Sprintf("uses {{%s}}, which %s messages do not provide (they provide %s)", n, t.Kind, strings.Join(kind.Variables, ", ")))
			}
		}
	}
	if ok {
		for _, n := range kind.RequiredFor(t.Channel) {
			if !used[n] {
				v.Add("template.body", fmt.Sprintf("must use {{%s}}", n))
			}
		}
	}
	return v
}

// variablesIn returns the variable names text refers to, in order.
func variablesIn(text string) ([]string, error) {
	var names []string
	err := scanTemplate(text, func(string) {}, func(name string) { names = append(names, name) })
	return names, err
}

// scanTemplate splits text into literal runs and {{variable}} references.
func scanTemplate(text string, literal func(string), variable func(string)) error {
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			if j := strings.Index(text, "}}"); j >= 0 {
				return fmt.Errorf("has a '}}' without its '{{'")
			}
			literal(text)
			return nil
		}
		literal(text[:i])
		rest := text[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return fmt.Errorf("has a '{{' without its '}}'")
		}
		name := strings.TrimSpace(rest[:j])
		if !isVariableName(name) {
			return fmt.Errorf("has {{%s}}, which is not a variable name", rest[:j])
		}
		variable(name)
		text = rest[j+2:]
	}
}

func isVariableName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Vars are the values a message is rendered with.
type Vars map[string]string

// Render fills t with vars. Values are inserted as text: control
// characters are dropped (a newline in a subject could add a mail header)
// and each value is cut at 500 characters. A variable without a value
// renders empty; Validate makes sure a saved template names none its kind
// lacks.
func (t Template) Render(vars Vars) (subject, body string, err error) {
	if subject, err = render(t.Subject, vars, true); err != nil {
		return "", "", fmt.Errorf("render %s subject: %w", t.Kind, err)
	}
	if body, err = render(t.Body, vars, false); err != nil {
		return "", "", fmt.Errorf("render %s body: %w", t.Kind, err)
	}
	return subject, body, nil
}

// RenderHTML fills t's HTML body with vars, each HTML-escaped after the
// same sanitizing as Render's, so a customer's name can never add markup
// or script to a mail; "" when t has no HTML body.
func (t Template) RenderHTML(vars Vars) (string, error) {
	if t.HTMLBody == "" {
		return "", nil
	}
	var sb strings.Builder
	err := scanTemplate(t.HTMLBody, func(s string) { sb.WriteString(s) }, func(name string) {
		sb.WriteString(html.EscapeString(sanitize(vars[name], false)))
	})
	if err != nil {
		return "", fmt.Errorf("render %s html body: %w", t.Kind, err)
	}
	return sb.String(), nil
}

func render(text string, vars Vars, singleLine bool) (string, error) {
	var sb strings.Builder
	err := scanTemplate(text, func(s string) { sb.WriteString(s) }, func(name string) {
		sb.WriteString(sanitize(vars[name], singleLine))
	})
	return sb.String(), err
}

func sanitize(v string, singleLine bool) string {
	v = strings.Map(func(r rune) rune {
		if r == '\n' && !singleLine {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, v)
	if r := []rune(v); len(r) > 500 {
		v = string(r[:500])
	}
	return v
}

// TemplateSet resolves the template of a kind, channel and locale among
// saved templates and the built-in ones.
type TemplateSet struct {
	byKey map[TemplateKey]Template
}

// NewTemplateSet returns the built-in templates overlaid with saved.
func NewTemplateSet(saved []Template) *TemplateSet {
	s := &TemplateSet{byKey: make(map[TemplateKey]Template, len(builtinTemplates)+len(saved))}
	for _, t := range builtinTemplates {
		t.Builtin = true
		s.byKey[t.Key()] = t
	}
	for _, t := range saved {
		s.byKey[t.Key()] = t
	}
	return s
}

// Find returns the template of kind on ch for locale, falling back to the
// other locale when the customer's has none.
func (s *TemplateSet) Find(kind string, ch Channel, locale string) (Template, bool) {
	want := TemplateLocale(locale)
	if t, ok := s.byKey[TemplateKey{kind, ch, want}]; ok {
		return t, true
	}
	other := LocaleEnglish
	if want == LocaleEnglish {
		other = LocaleChinese
	}
	t, ok := s.byKey[TemplateKey{kind, ch, other}]
	return t, ok
}

// Has reports whether kind has a template on ch in any locale.
func (s *TemplateSet) Has(kind string, ch Channel) bool {
	_, ok := s.Find(kind, ch, LocaleChinese)
	return ok
}

// All returns every template, ordered by kind, channel and locale.
func (s *TemplateSet) All() []Template {
	out := make([]Template, 0, len(s.byKey))
	for _, t := range s.byKey {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int {
		return strings.Compare(a.Kind+"\x00"+string(a.Channel)+"\x00"+a.Locale, b.Kind+"\x00"+string(b.Channel)+"\x00"+b.Locale)
	})
	return out
}
