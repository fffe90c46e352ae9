// Package linksign signs the tokens of links guanxi sends to customers
// (unsubscribe, survey answer), so a link is its own credential: it names
// exactly what it was made for, and nobody can forge one for someone else.
// A token is "<payload>.<mac>", both unpadded base64url; the payload is
// the fields joined by '|', the MAC an HMAC-SHA256 over the purpose and
// the payload, so a token made for one purpose never verifies for another
// even under the same key.
package linksign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid means a token was not made by this key for this purpose, or
// is malformed.
var ErrInvalid = errors.New("invalid link token")

// macLen is how much of the HMAC a token carries: 144 bits, far beyond
// guessing, while keeping links short enough for an SMS.
const macLen = 18

// Signer makes and checks link tokens with one secret key.
type Signer struct {
	key []byte
}

// New returns a signer with secret key; an empty key is refused, since
// anyone could then sign.
func New(key []byte) (*Signer, error) {
	if len(key) == 0 {
		return nil, errors.New("linksign: empty key")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Sign returns the token of fields for purpose. A field must not contain
// '|', which separates them.
func (s *Signer) Sign(purpose string, fields ...string) (string, error) {
	for _, f := range fields {
		if strings.Contains(f, "|") {
			return "", fmt.Errorf("linksign: field %q contains '|'", f)
		}
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(fields, "|")))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload)), nil
}

func (s *Signer) mac(purpose, payload string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(purpose + "|" + payload))
	return h.Sum(nil)[:macLen]
}

// Verify returns the n fields of a token made for purpose, or ErrInvalid.
func (s *Signer) Verify(purpose, token string, n int) ([]string, error) {
	payload, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return nil, ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, ErrInvalid
	}
	fields := strings.Split(string(raw), "|")
	if len(fields) != n {
		return nil, ErrInvalid
	}
	return fields, nil
}
