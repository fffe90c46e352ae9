package app

import (
	"context"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Templates keeps message templates and renders previews of them.
type Templates struct{ *core }

// SaveTemplate validates and stores a template, replacing the one of the
// same kind, channel and locale. A template that could fail to render at
// send time (a variable its kind lacks, a required one missing) is refused
// here.
func (s *Templates) SaveTemplate(ctx context.Context, t domain.Template) (domain.Template, error) {
	t.Builtin = false
	if err := t.Validate().Err(); err != nil {
		return domain.Template{}, err
	}
	if t.Channel == domain.ChannelSMS {
		t.Subject = ""
	}
	t.UpdateTime = s.now().UTC()
	if err := s.store.InTx(ctx, func(tx domain.Tx) error { return tx.SaveTemplate(ctx, t) }); err != nil {
		return domain.Template{}, fmt.Errorf("save template: %w", err)
	}
	return t, nil
}

// ListTemplates returns every template (saved, and built-in ones no saved
// one replaces), of kind only when kind is not empty.
func (s *Templates) ListTemplates(ctx context.Context, kind string) ([]domain.Template, error) {
	set, err := s.templates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	var out []domain.Template
	for _, t := range set.All() {
		if kind == "" || t.Kind == kind {
			out = append(out, t)
		}
	}
	return out, nil
}

// Preview is a PreviewTemplate request.
type Preview struct {
	Kind       string
	Channel    domain.Channel
	Locale     string
	CustomerID string
	Vars       domain.Vars
	// DraftSubject and DraftBody, when DraftBody is set, are rendered
	// instead of the stored template, after the checks a save makes.
	DraftSubject string
	DraftBody    string
}

// PreviewTemplate renders a template for a customer without sending
// anything.
func (s *Templates) PreviewTemplate(ctx context.Context, p Preview) (subject, body, locale string, err error) {
	var v validation.Violations
	kind, ok := domain.LookupKind(p.Kind)
	if !ok {
		v.Add("kind", "is not a valid kind")
	}
	if p.Channel != domain.ChannelEmail && p.Channel != domain.ChannelSMS && p.Channel != domain.ChannelWebhook {
		v.Add("channel", "must be EMAIL, SMS or WEBHOOK")
	}
	if p.Locale != "" && p.Locale != domain.LocaleChinese && p.Locale != domain.LocaleEnglish {
		v.Add("locale", "must be zh-CN or en")
	}
	checkUUID(&v, "customer_id", p.CustomerID)
	if err := v.Err(); err != nil {
		return "", "", "", err
	}
	id, err := survivorVia(ctx, s.store.MergedInto, p.CustomerID)
	if err != nil {
		return "", "", "", fmt.Errorf("preview template: %w", err)
	}
	r, known, err := s.store.Recipient(ctx, id)
	if err != nil {
		return "", "", "", fmt.Errorf("preview template: %w", err)
	}
	if !known {
		return "", "", "", fmt.Errorf("preview template: customer %s: %w", p.CustomerID, domain.ErrNotFound)
	}
	locale = p.Locale
	if locale == "" {
		locale = domain.TemplateLocale(r.Locale)
	}
	var t domain.Template
	if p.DraftBody != "" {
		t = domain.Template{Kind: p.Kind, Channel: p.Channel, Locale: locale, Subject: p.DraftSubject, Body: p.DraftBody}
		if err := t.Validate().Err(); err != nil {
			return "", "", "", err
		}
	} else {
		set, err := s.templates(ctx)
		if err != nil {
			return "", "", "", fmt.Errorf("preview template: %w", err)
		}
		found, exists := set.Find(p.Kind, p.Channel, locale)
		if !exists {
			return "", "", "", fmt.Errorf("preview template %s on %s: %w", p.Kind, p.Channel, domain.ErrNotFound)
		}
		t = found
	}
	r.Locale = t.Locale
	d := domain.Draft{Kind: kind, Recipient: r, Vars: p.Vars, UnsubscribeURL: s.unsubscribeURL}
	subject, body, err = t.Render(domain.DraftVars(d, p.Channel))
	if err != nil {
		return "", "", "", fmt.Errorf("preview template: %w", err)
	}
	return subject, body, t.Locale, nil
}
