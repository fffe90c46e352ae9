package domain

import (
	"strings"
	"unicode"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// Limits of ingestion.
const (
	// MaxIngestBatch bounds the events of one batch (one REST call, one
	// stream message).
	MaxIngestBatch = 10_000
	// MaxIngestStream bounds the events of one IngestEvents stream, whose
	// per-event results come back in one response message: 20,000 results
	// stay well under gRPC's default 4 MiB message limit.
	MaxIngestStream = 20_000
)

// IngestEvent is one event pushed by a call-center system. Source and
// ExternalID are its idempotency key; the caller is found by Phone when
// the interaction names no customer.
type IngestEvent struct {
	Source      string
	ExternalID  string
	Phone       string
	CallerName  string
	Interaction Interaction
	// Violations are faults found while decoding the event (unknown enum
	// values, bad timestamps), reported with the domain's own.
	Violations validation.Violations
}

// Outcome is what became of one ingested event.
type Outcome int

// The outcomes.
const (
	OutcomeCreated Outcome = iota + 1
	OutcomeDuplicate
	OutcomeRejected
)

// IngestResult is the result of one ingested event.
type IngestResult struct {
	Source          string
	ExternalID      string
	Outcome         Outcome
	InteractionID   string
	CustomerID      string
	ProspectCreated bool
	Reason          string
	Field           string
}

// SourceKey is the idempotency key of an ingested event.
type SourceKey struct {
	Source, SourceID string
}

// Recorded is what a store knows of an interaction recorded under a key.
type Recorded struct {
	InteractionID string
	CustomerID    string
}

// NormalizePhone returns a phone number in E.164 form: separators are
// dropped, "00" becomes "+", and a number without a country code is read as
// Chinese (+86), as the customer service does. ok is false when what is
// left is not 7 to 15 digits.
func NormalizePhone(raw string) (phone string, ok bool) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(raw) {
		switch {
		case r == '+' && i == 0:
			plus = true
		case unicode.IsDigit(r) && r < 128:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", false
		}
	}
	digits := b.String()
	switch {
	case plus:
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case strings.HasPrefix(digits, "86") && len(digits) == 13:
	default:
		// A Chinese number: an 11-digit mobile, or an area code and a
		// local number (9 to 11 digits without the trunk 0).
		digits = strings.TrimPrefix(digits, "0")
		if len(digits) < 9 || len(digits) > 11 {
			return "", false
		}
		digits = "86" + digits
	}
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	return "+" + digits, true
}
