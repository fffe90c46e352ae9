package domain

import (
	"fmt"
	"strings"
	"text/template"
)

// Language is the language a message is written in.
type Language string

// The languages templates are written in.
const (
	LanguageChinese Language = "zh"
	LanguageEnglish Language = "en"
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

// templateText is the source of one template in one language. Subject and
// body are text/template sources rendered with templateData.
type templateText struct {
	subject string
	body    string
}

// templateData is what templates can refer to. It holds only what the text
// needs, so a template cannot leak a contact address into a message.
type templateData struct {
	Name string
}

// templatePurposes says why each template is sent; see Purpose.
var templatePurposes = map[string]Purpose{
	TemplateWelcome: PurposeService,
}

// PurposeOf returns the purpose of template name. A template without one
// counts as marketing, the purpose that needs the most consent.
func PurposeOf(name string) Purpose {
	if p, ok := templatePurposes[name]; ok {
		return p
	}
	return PurposeMarketing
}

// templateSources are the message texts, by template and language.
var templateSources = map[string]map[Language]templateText{
	TemplateWelcome: {
		LanguageChinese: {
			subject: "欢迎加入",
			body:    "{{if .Name}}{{.Name}}，{{end}}您好！感谢您成为我们的客户。",
		},
		LanguageEnglish: {
			subject: "Welcome",
			body:    "Hello{{if .Name}} {{.Name}}{{end}}, thank you for becoming our customer.",
		},
	},
}

// Templates renders message texts. Build one with NewTemplates.
type Templates struct {
	parsed map[string]map[Language]*template.Template
}

// NewTemplates parses every template once, so a broken template fails at
// start rather than on the first customer who needs it.
func NewTemplates() (*Templates, error) {
	t := &Templates{parsed: make(map[string]map[Language]*template.Template, len(templateSources))}
	for name, langs := range templateSources {
		t.parsed[name] = make(map[Language]*template.Template, len(langs))
		for lang, src := range langs {
			tpl := template.New(name + "." + string(lang)).Option("missingkey=error")
			if _, err := tpl.New("subject").Parse(src.subject); err != nil {
				return nil, fmt.Errorf("parse template %s/%s subject: %w", name, lang, err)
			}
			if _, err := tpl.New("body").Parse(src.body); err != nil {
				return nil, fmt.Errorf("parse template %s/%s body: %w", name, lang, err)
			}
			t.parsed[name][lang] = tpl
		}
	}
	return t, nil
}

// Render returns the subject and body of template name for r, in the
// language of r's locale.
func (t *Templates) Render(name string, r Recipient) (subject, body string, err error) {
	langs, ok := t.parsed[name]
	if !ok {
		return "", "", fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	tpl, ok := langs[LanguageFor(r.Locale)]
	if !ok {
		return "", "", fmt.Errorf("render %q in %s: %w", name, LanguageFor(r.Locale), ErrUnknownTemplate)
	}
	data := templateData{Name: strings.TrimSpace(r.Name)}
	var sb strings.Builder
	if err := tpl.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", fmt.Errorf("render %q subject: %w", name, err)
	}
	subject = sb.String()
	sb.Reset()
	if err := tpl.ExecuteTemplate(&sb, "body", data); err != nil {
		return "", "", fmt.Errorf("render %q body: %w", name, err)
	}
	return subject, sb.String(), nil
}
