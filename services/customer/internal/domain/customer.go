// Package domain holds the customer service's business model: the customer
// record, the rules a valid record obeys, the events a change produces and
// the storage interfaces the use cases need. It knows nothing of proto, SQL
// or NATS.
package domain

import (
	"strconv"
	"time"
)

// CustomerType tells people from organizations.
type CustomerType int

// The customer types. The zero value is not a valid stored type: it is what
// a caller sends when it does not say, and normalization turns it into
// TypePerson.
const (
	TypeUnspecified CustomerType = iota
	TypePerson
	TypeOrganization
)

// String returns the lowercase name of t, for messages.
func (t CustomerType) String() string {
	switch t {
	case TypeUnspecified:
		return "unspecified"
	case TypePerson:
		return "person"
	case TypeOrganization:
		return "organization"
	default:
		return "CustomerType(" + strconv.Itoa(int(t)) + ")"
	}
}

// DefaultTimeZone is the zone a customer without one lives in.
const DefaultTimeZone = "Asia/Shanghai"

// Profile is the part of a customer its callers write. Later slices add
// contact points, attributes, ownership and consent beside it, each with
// its own rules.
type Profile struct {
	Type        CustomerType
	DisplayName string
	Email       string
	Phone       string
	// Locale is a BCP 47 tag in canonical form, or empty.
	Locale string
	// TimeZone is an IANA zone name, or empty for DefaultTimeZone.
	TimeZone string
	Tags     []string
}

// Customer is the company-owned record of one person or organization.
type Customer struct {
	// ID is a UUIDv7 assigned at creation.
	ID string
	Profile
	CreateTime time.Time
	UpdateTime time.Time
	// Version starts at 1 and grows by one with every change; it is the
	// basis of the etag.
	Version int64
}

// NewCustomer returns a valid new customer with the normalized profile p,
// or a *validation.Error.
func NewCustomer(id string, p Profile, now time.Time) (Customer, error) {
	norm, err := p.Normalize()
	if err != nil {
		return Customer{}, err
	}
	return Customer{ID: id, Profile: norm, CreateTime: now, UpdateTime: now, Version: 1}, nil
}

// Etag is the opaque version clients send back for optimistic concurrency.
func (c Customer) Etag() string {
	return strconv.FormatInt(c.Version, 10)
}

// CheckEtag returns ErrStale when etag is set and is not c's current one; an
// empty etag means the caller does not ask for the check.
func (c Customer) CheckEtag(etag string) error {
	if etag != "" && etag != c.Etag() {
		return ErrStale
	}
	return nil
}

// Location is the customer's time zone, DefaultTimeZone when unset.
func (c Customer) Location() (*time.Location, error) {
	name := c.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	return time.LoadLocation(name)
}

// Apply returns c with the fields of p named in fields written over it and
// normalized, and the fields whose value actually changed. When nothing
// changed it returns c unchanged (same version, same update time), so a
// repeated update is not a new version and publishes nothing.
func (c Customer) Apply(p Profile, fields []Field, now time.Time) (Customer, []Field, error) {
	next := c.Profile
	next.Tags = append([]string(nil), c.Tags...)
	for _, f := range fields {
		f.copy(&next, p)
	}
	norm, err := next.Normalize()
	if err != nil {
		return Customer{}, nil, err
	}
	var changed []Field
	for _, f := range Fields() {
		if !f.equal(c.Profile, norm) {
			changed = append(changed, f)
		}
	}
	if len(changed) == 0 {
		return c, nil, nil
	}
	out := c
	out.Profile = norm
	out.UpdateTime = now
	out.Version = c.Version + 1
	return out, changed, nil
}
