package domain

import (
	"errors"

	"github.com/guanxi-crm/guanxi/platform/linksign"
)

// ErrBadToken means an unsubscribe token was not made by this service.
var ErrBadToken = errors.New("invalid unsubscribe token")

// unsubscribePurpose separates unsubscribe tokens from every other link
// signed with the same key.
const unsubscribePurpose = "unsubscribe"

// UnsubscribeSigner makes and checks the tokens of unsubscribe links, so a
// link opts out exactly the customer and channel it was sent to, and
// nobody can forge one for someone else.
type UnsubscribeSigner struct {
	signer *linksign.Signer
}

// NewUnsubscribeSigner returns a signer with secret key.
func NewUnsubscribeSigner(key []byte) (*UnsubscribeSigner, error) {
	s, err := linksign.New(key)
	if err != nil {
		return nil, err
	}
	return &UnsubscribeSigner{signer: s}, nil
}

// Token returns the token for customerID on ch.
func (s *UnsubscribeSigner) Token(customerID string, ch Channel) string {
	// Ids and channels never hold '|', so signing cannot fail.
	tok, _ := s.signer.Sign(unsubscribePurpose, customerID, string(ch))
	return tok
}

// Verify returns the customer and channel of a token it made.
func (s *UnsubscribeSigner) Verify(token string) (customerID string, ch Channel, err error) {
	f, err := s.signer.Verify(unsubscribePurpose, token, 2)
	if err != nil || !isID(f[0]) || !Channel(f[1]).Valid() {
		return "", "", ErrBadToken
	}
	return f[0], Channel(f[1]), nil
}
