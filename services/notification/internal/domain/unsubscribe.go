package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrBadToken means an unsubscribe token was not made by this service.
var ErrBadToken = errors.New("invalid unsubscribe token")

// UnsubscribeSigner makes and checks the tokens of unsubscribe links, so a
// link opts out exactly the customer and channel it was sent to, and
// nobody can forge one for someone else.
type UnsubscribeSigner struct {
	key []byte
}

// NewUnsubscribeSigner returns a signer with secret key.
func NewUnsubscribeSigner(key []byte) *UnsubscribeSigner {
	return &UnsubscribeSigner{key: key}
}

// Token returns the token for customerID on ch.
func (s *UnsubscribeSigner) Token(customerID string, ch Channel) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(customerID + "|" + string(ch)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s *UnsubscribeSigner) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("unsubscribe|" + payload))
	return h.Sum(nil)[:18]
}

// Verify returns the customer and channel of a token it made.
func (s *UnsubscribeSigner) Verify(token string) (customerID string, ch Channel, err error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrBadToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return "", "", ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", ErrBadToken
	}
	id, channel, ok := strings.Cut(string(raw), "|")
	if !ok || !isID(id) || !Channel(channel).Valid() {
		return "", "", ErrBadToken
	}
	return id, Channel(channel), nil
}
