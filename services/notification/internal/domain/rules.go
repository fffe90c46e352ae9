package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QuietHours is the part of the day, in the recipient's time zone, when no
// message goes out; a message due then waits until it ends. Start == End
// means none.
type QuietHours struct {
	// Start and End are minutes after local midnight; Start > End spans
	// midnight (21:00-08:00).
	Start, End int
}

// ParseQuietHours reads "HH:MM-HH:MM"; "" means no quiet hours.
func ParseQuietHours(s string) (QuietHours, error) {
	if strings.TrimSpace(s) == "" {
		return QuietHours{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(from)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	end, err := parseClock(to)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	return QuietHours{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// String is the "HH:MM-HH:MM" form.
func (q QuietHours) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60)
}

// Until returns when the quiet hours around now end in loc, and false when
// now is not in quiet hours.
func (q QuietHours) Until(now time.Time, loc *time.Location) (time.Time, bool) {
	if q.Start == q.End {
		return time.Time{}, false
	}
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()
	var in bool
	if q.Start < q.End {
		in = minute >= q.Start && minute < q.End
	} else {
		in = minute >= q.Start || minute < q.End
	}
	if !in {
		return time.Time{}, false
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), q.End/60, q.End%60, 0, 0, loc)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return end, true
}

// RetryPolicy says how often and how far apart a transient provider
// failure is retried.
type RetryPolicy struct {
	MaxAttempts int
	// BaseDelay is the wait after the first failure; it doubles with each
	// further one, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// Backoff is the wait after failed attempt number attempt (1-based).
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// PermanentError is a provider's refusal that no retry can change (an
// unknown mailbox, an invalid number).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as a refusal not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is a permanent refusal.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// CapKey is one customer's message count on one channel on one local day.
type CapKey struct {
	CustomerID string
	Channel    Channel
	// Day is the recipient's local date, "2025-02-14".
	Day string
}

// CapKeyFor is the key m counts against when sent at now.
func CapKeyFor(m Message, now time.Time) CapKey {
	return CapKey{CustomerID: m.CustomerID, Channel: m.Channel, Day: now.In(LoadLocation(m.TimeZone)).Format(time.DateOnly)}
}

// CapReason is the status reason of a message a frequency cap stopped.
func CapReason(limit int, ch Channel) string {
	return fmt.Sprintf("frequency cap: %d messages a day on %s reached", limit, channelName(ch))
}

// QuietReason is the status reason of a message waiting out quiet hours.
func QuietReason(q QuietHours, zone string) string {
	if zone == "" {
		zone = DefaultTimeZone
	}
	return "deferred: quiet hours " + q.String() + " " + zone
}

// RetryReason is the status reason of a message waiting for its retry.
func RetryReason(attempt int, err string) string {
	return fmt.Sprintf("retrying after attempt %d failed: %s", attempt, err)
}

// Attempt is one hand-over of a message to its channel.
type Attempt struct {
	MessageID        string
	Number           int
	Time             time.Time
	Outcome          string
	ProviderResponse string
}

// Attempt outcomes.
const (
	OutcomeAccepted       = "accepted"
	OutcomeTransientError = "transient_error"
	OutcomePermanentError = "permanent_error"
)
