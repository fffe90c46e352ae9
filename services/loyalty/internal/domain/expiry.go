package domain

import "time"

// ExpiryBucket is the points credited to a member that expire at one time.
type ExpiryBucket struct {
	ExpireTime time.Time
	Credits    int64
}

// ExpiryState is what the ledger says about a member's expiring points:
// the credits that expire, bucketed by expiry time (ascending), the points
// spent or taken back (every debit but expiries, as a positive number) and
// the points expired so far.
type ExpiryState struct {
	Buckets []ExpiryBucket
	Debits  int64
	Expired int64
}

// Expiration is the points of a member that expire at a time.
type Expiration struct {
	ExpireTime time.Time
	Points     int64
}

// Plan returns what expires at each bucket after `after` up to and
// including `through`. Debits consume the points that expire first (what
// members expect: spend the oldest points first), so at bucket T what
// expires is the credits due by T less every debit and every earlier
// expiry, when positive. Buckets up to `after` are taken as processed:
// their credits count, and Expired already holds what they lost.
func (s ExpiryState) Plan(after, through time.Time) []Expiration {
	consumed := s.Debits + s.Expired
	var (
		credits int64
		out     []Expiration
	)
	for _, b := range s.Buckets {
		if b.ExpireTime.After(through) {
			break
		}
		credits += b.Credits
		if !b.ExpireTime.After(after) {
			continue
		}
		if n := credits - consumed; n > 0 {
			out = append(out, Expiration{ExpireTime: b.ExpireTime, Points: n})
			consumed += n
		}
	}
	return out
}
