package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Channel is a way of contacting a customer that needs their consent.
type Channel int

// The channels.
const (
	ChannelUnspecified Channel = iota
	ChannelSMS
	ChannelEmail
	ChannelPhone
	ChannelPush
	ChannelWeChat
)

var channelNames = []string{"unspecified", "sms", "email", "phone", "push", "wechat"}

// String returns the lowercase name of ch, which is also its stored form.
func (ch Channel) String() string { return enumName(channelNames, int(ch), "Channel") }

// ParseChannel reads a stored channel name.
func ParseChannel(s string) (Channel, bool) { return parseEnum[Channel](channelNames, s) }

// ConsentStatus is the customer's answer for a channel.
type ConsentStatus int

// The answers.
const (
	ConsentUnspecified ConsentStatus = iota
	ConsentOptedIn
	ConsentOptedOut
)

var consentNames = []string{"unspecified", "opted_in", "opted_out"}

// String returns the lowercase name of s, which is also its stored form.
func (s ConsentStatus) String() string { return enumName(consentNames, int(s), "ConsentStatus") }

// ParseConsentStatus reads a stored consent status name.
func ParseConsentStatus(s string) (ConsentStatus, bool) {
	return parseEnum[ConsentStatus](consentNames, s)
}

// MaxSourceRunes bounds a consent's source.
const MaxSourceRunes = 200

// Consent is the customer's answer for one channel, where it came from and
// when it was given.
type Consent struct {
	Channel    Channel
	Status     ConsentStatus
	Source     string
	UpdateTime time.Time
}

// validate checks a consent a caller gives.
func (c Consent) validate() error {
	var v validation.Violations
	if c.Channel <= ChannelUnspecified || int(c.Channel) >= len(channelNames) {
		v.Add("channel", "is required: one of SMS, EMAIL, PHONE, PUSH, WECHAT")
	}
	if c.Status != ConsentOptedIn && c.Status != ConsentOptedOut {
		v.Add("status", "must be OPTED_IN or OPTED_OUT")
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(c.Source)); {
	case n == 0:
		v.Add("source", "is required: where the answer came from, e.g. signup-form")
	case n > MaxSourceRunes:
		v.Add("source", fmt.Sprintf("must be at most %d characters", MaxSourceRunes))
	}
	return v.Err()
}

// SetConsent records the customer's answer for a channel. It returns
// changed false when the answer and source are the ones already recorded.
func (c Customer) SetConsent(in Consent, now time.Time) (Customer, bool, error) {
	if err := in.validate(); err != nil {
		return Customer{}, false, err
	}
	if err := c.checkWritable(); err != nil {
		return Customer{}, false, err
	}
	in.Source = strings.TrimSpace(in.Source)
	in.UpdateTime = now
	i := slices.IndexFunc(c.Consents, func(x Consent) bool { return x.Channel == in.Channel })
	if i >= 0 && c.Consents[i].Status == in.Status && c.Consents[i].Source == in.Source {
		return c, false, nil
	}
	out := c.touch(now)
	out.Consents = mergeConsents(c.Consents, []Consent{in})
	return out, true, nil
}

// mergeConsents returns a's consents with b's laid over them: per channel the
// later answer wins, ordered by channel.
func mergeConsents(a, b []Consent) []Consent {
	byChannel := map[Channel]Consent{}
	for _, c := range append(slices.Clone(a), b...) {
		if cur, ok := byChannel[c.Channel]; !ok || !c.UpdateTime.Before(cur.UpdateTime) {
			byChannel[c.Channel] = c
		}
	}
	out := make([]Consent, 0, len(byChannel))
	for _, c := range byChannel {
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y Consent) int { return int(x.Channel) - int(y.Channel) })
	return out
}
