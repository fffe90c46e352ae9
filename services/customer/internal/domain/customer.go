// Package domain holds the customer service's business model: the customer
// record, the rules a valid record obeys, the events a change produces and
// the storage interfaces the use cases need. It knows nothing of proto, SQL
// or NATS.
package domain

import (
	"slices"
	"strconv"
	"time"
)

// DefaultTimeZone is the zone a customer without one lives in.
const DefaultTimeZone = "Asia/Shanghai"

// Profile is the part of a customer its callers write.
type Profile struct {
	Type        CustomerType
	Kind        Kind
	Stage       Stage
	DisplayName string
	// Email and Phone are the primary contacts; OtherEmails and OtherPhones
	// the rest. Phones are E.164.
	Email       string
	Phone       string
	OtherEmails []string
	OtherPhones []string
	// Locale is a BCP 47 tag in canonical form, or empty.
	Locale string
	// TimeZone is an IANA zone name, or empty for DefaultTimeZone.
	TimeZone   string
	Tags       []string
	Addresses  []Address
	Birthday   *Date
	Attributes map[string]AttributeValue
	// OwnerID is the owning account manager; never empty on a stored
	// customer.
	OwnerID string
	TeamID  string
	// ExternalID is the customer's id in the system it came from; unique
	// when set.
	ExternalID string
}

// Address is a postal address.
type Address struct {
	Label       string
	CountryCode string
	Region      string
	City        string
	District    string
	Lines       []string
	PostalCode  string
}

// Date is a calendar date; Year is 0 when unknown (a birthday without year).
type Date struct {
	Year, Month, Day int
}

// State tells live customers from removed ones.
type State int

// The states. Merged customers are not a state of their own: a merged
// customer's row only points at its survivor.
const (
	StateActive State = iota + 1
	StateDeleted
	StateErased
	StateMerged
)

// Customer is the company-owned record of one person or organization.
type Customer struct {
	// ID is a UUIDv7 assigned at creation.
	ID string
	Profile
	// Consents holds the customer's answer per channel, ordered by channel.
	Consents []Consent
	// PossibleDuplicate marks a customer created while one of its contacts
	// belonged to another.
	PossibleDuplicate bool
	// MergedIDs are the customers folded into this one.
	MergedIDs []string
	State     State
	// MergedInto is the survivor of a merged customer.
	MergedInto string
	CreateTime time.Time
	UpdateTime time.Time
	// DeleteTime is set for deleted and erased customers.
	DeleteTime time.Time
	// Version starts at 1 and grows by one with every change; it is the
	// basis of the etag.
	Version int64
}

// NewCustomer returns a valid new customer with the normalized profile p,
// or a *validation.Error.
func NewCustomer(id string, p Profile, defs Definitions, now time.Time) (Customer, error) {
	norm, err := p.Normalize(defs)
	if err != nil {
		return Customer{}, err
	}
	return Customer{ID: id, Profile: norm, State: StateActive, CreateTime: now, UpdateTime: now, Version: 1}, nil
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

// checkWritable refuses changes to a customer that is not active.
func (c Customer) checkWritable() error {
	switch c.State {
	case StateDeleted:
		return &StateError{ID: c.ID, Reason: "is deleted; undelete it first"}
	case StateErased:
		return &StateError{ID: c.ID, Reason: "is erased"}
	case StateMerged:
		return &StateError{ID: c.ID, Reason: "was merged into " + c.MergedInto}
	}
	return nil
}

// touch returns c as a new version at now.
func (c Customer) touch(now time.Time) Customer {
	c.UpdateTime = now
	c.Version++
	return c
}

// Apply returns c with the fields of p named in fields written over it and
// normalized, and the fields whose value actually changed. When nothing
// changed it returns c unchanged (same version, same update time), so a
// repeated update is not a new version and publishes nothing.
func (c Customer) Apply(p Profile, fields []Field, defs Definitions, now time.Time) (Customer, []Field, error) {
	if err := c.checkWritable(); err != nil {
		return Customer{}, nil, err
	}
	next, src := c.Profile.clone(), p.clone()
	for _, f := range fields {
		f.copy(&next, src)
	}
	norm, err := next.Normalize(defs)
	if err != nil {
		return Customer{}, nil, err
	}
	changed := Diff(c.Profile, norm)
	if len(changed) == 0 {
		return c, nil, nil
	}
	out := c.touch(now)
	out.Profile = norm
	return out, changed, nil
}

// clone returns a deep copy of p, so writing into it leaves p alone.
func (p Profile) clone() Profile {
	out := p
	out.OtherEmails = slices.Clone(p.OtherEmails)
	out.OtherPhones = slices.Clone(p.OtherPhones)
	out.Tags = slices.Clone(p.Tags)
	out.Addresses = make([]Address, len(p.Addresses))
	for i, a := range p.Addresses {
		a.Lines = slices.Clone(a.Lines)
		out.Addresses[i] = a
	}
	if len(out.Addresses) == 0 {
		out.Addresses = nil
	}
	if p.Birthday != nil {
		b := *p.Birthday
		out.Birthday = &b
	}
	if p.Attributes != nil {
		out.Attributes = make(map[string]AttributeValue, len(p.Attributes))
		for k, v := range p.Attributes {
			out.Attributes[k] = v
		}
	}
	return out
}

// Delete soft-deletes c.
func (c Customer) Delete(now time.Time) (Customer, error) {
	if err := c.checkWritable(); err != nil {
		return Customer{}, err
	}
	out := c.touch(now)
	out.State = StateDeleted
	out.DeleteTime = now
	return out, nil
}

// Undelete restores a soft-deleted c.
func (c Customer) Undelete(now time.Time) (Customer, error) {
	if c.State != StateDeleted {
		return Customer{}, &StateError{ID: c.ID, Reason: "is not deleted"}
	}
	out := c.touch(now)
	out.State = StateActive
	out.DeleteTime = time.Time{}
	return out, nil
}

// Erase returns the anonymous tombstone of c: the id, the times and nothing
// that identifies the person. Erasing is allowed from any state but merged
// (erase the survivor instead) and is final.
func (c Customer) Erase(now time.Time) (Customer, error) {
	switch c.State {
	case StateErased:
		return Customer{}, &StateError{ID: c.ID, Reason: "is already erased"}
	case StateMerged:
		return Customer{}, &StateError{ID: c.ID, Reason: "was merged into " + c.MergedInto + "; erase that customer"}
	}
	return Customer{
		ID:         c.ID,
		Profile:    Profile{Type: c.Type, Kind: c.Kind, Stage: c.Stage, OwnerID: c.OwnerID, TeamID: c.TeamID},
		State:      StateErased,
		MergedIDs:  c.MergedIDs,
		CreateTime: c.CreateTime,
		UpdateTime: now,
		DeleteTime: now,
		Version:    c.Version + 1,
	}, nil
}
