package domain

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzTemplate checks that no template text or value panics, that a
// template Validate accepts always renders (Validate is what keeps sends
// from failing), and that a value cannot add a line to a subject or run
// past its 500 characters.
//
//	go test -run '^$' -fuzz FuzzTemplate -fuzztime 30s ./services/notification/internal/domain
func FuzzTemplate(f *testing.F) {
	for _, seed := range [][3]string{
		{"Welcome, {{name}}", "Hello {{ name }},\nunsubscribe: {{unsubscribe_url}}", "王小明"},
		{"{{name}}", "{{name}}{{name}}", "a\r\nBcc: x@example.com"},
		{"", "{{", "x"}, {"}}", "body", "x"}, {"{{}}", "{{ nope }}", ""}, {"{{NAME}}", "{{na-me}}", "\x00\x7f"},
		{"{{name}", "{name}}", strings.Repeat("长", 600)}, {"{{{{name}}}}", "}}{{", "\u2028\u0085"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, subject, body, value string) {
		tpl := Template{Kind: KindWelcome, Channel: ChannelEmail, Locale: LocaleEnglish, Subject: subject, Body: body}
		valid := len(tpl.Validate()) == 0
		gotSubject, gotBody, err := tpl.Render(Vars{VarName: value, VarUnsubscribeURL: value})
		if err != nil {
			if valid {
				t.Fatalf("Render(%q, %q) of a valid template: %v", subject, body, err)
			}
			return
		}
		if !utf8.ValidString(subject) || !utf8.ValidString(value) {
			return // invalid UTF-8 is carried through as it came
		}
		if !strings.ContainsFunc(subject, unicode.IsControl) && strings.ContainsFunc(gotSubject, unicode.IsControl) {
			t.Fatalf("subject %q with value %q rendered %q: a control character came from the value", subject, value, gotSubject)
		}
		// Each reference renders at most 500 characters of the value.
		subjectRefs, _ := variablesIn(subject)
		bodyRefs, _ := variablesIn(body)
		refs := append(subjectRefs, bodyRefs...)
		limit := utf8.RuneCountInString(subject+body) + len(refs)*500
		if n := utf8.RuneCountInString(gotSubject + gotBody); n > limit {
			t.Fatalf("rendered %d characters from %d of template and %d references", n, utf8.RuneCountInString(subject+body), len(refs))
		}
	})
}
