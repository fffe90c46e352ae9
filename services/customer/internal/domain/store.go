package domain

import (
	"context"
	"time"
)

// Paging limits of list queries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	// MaxRequestIDLength bounds the idempotency keys clients send.
	MaxRequestIDLength = 200
)

// ListQuery selects customers.
type ListQuery struct {
	// Filter is an AIP-160 expression; the store compiles it and reports a
	// bad one as a *validation.Error on "filter".
	Filter string
	// Terms are free-text terms (see SearchTerms) that must each occur in
	// the customer's SearchText.
	Terms []string
	// OrderBy is an AIP-132 order ("display_name desc"); empty means by
	// creation time. A bad one is a *validation.Error on "order_by".
	OrderBy string
	// ShowDeleted includes soft-deleted customers.
	ShowDeleted bool
	// Scope leaves out the customers the caller may not see.
	Scope Scope
	Limit int
	// After is where the page starts: the Next cursor of the page before,
	// "" for the first. It is the store's own encoding of the last row's
	// position in the order, so a deep page costs what the first does.
	After string
}

// OwnedCustomer is a customer as an ownership transfer sees it.
type OwnedCustomer struct {
	ID     string
	TeamID string
}

// Reader reads customers; both the store and a transaction can.
type Reader interface {
	// Customer returns the customer with id in any state (merged customers
	// included), or a *NotFoundError.
	Customer(ctx context.Context, id string) (Customer, error)
	// Definitions returns the declared custom attributes.
	Definitions(ctx context.Context) (Definitions, error)
	// CustomersByExternalID returns the customers holding the given
	// external ids.
	CustomersByExternalID(ctx context.Context, ids []string) (map[string]Customer, error)
}

// Store is the customer repository.
type Store interface {
	Reader
	// CustomerByRequestID returns the customer created under requestID, or
	// an error wrapping ErrNotFound.
	CustomerByRequestID(ctx context.Context, requestID string) (Customer, error)
	// ListCustomers returns up to q.Limit active (and with ShowDeleted,
	// deleted) customers matching q, after q.After, and the cursor of the
	// next page: "" when no customer follows. A q.After the store did not
	// issue for q's order is a *validation.Error on "page_token".
	ListCustomers(ctx context.Context, q ListQuery) (page []Customer, next string, err error)
	// CountCustomers counts the customers q selects (its filter, terms,
	// deleted ones and scope; not its order, limit and cursor), counting
	// no further than limit.
	CountCustomers(ctx context.Context, q ListQuery, limit int) (int, error)
	// ScanCustomers returns up to limit active customers matching q's
	// filter and terms with an id greater than after, by id.
	ScanCustomers(ctx context.Context, q ListQuery, after string, limit int) ([]Customer, error)
	// DuplicateCandidates returns active customers other than c that share
	// a contact or the name key with it, at most limit.
	DuplicateCandidates(ctx context.Context, c Customer, limit int) ([]Customer, error)
	// Relationships returns the relationships from or to a customer.
	Relationships(ctx context.Context, customerID string) ([]Relationship, error)
	// OwnershipChanges returns a customer's ownership history, newest first.
	OwnershipChanges(ctx context.Context, customerID string, limit, offset int) ([]OwnershipChange, error)
	// AuditEntries returns audit entries matching q, newest first.
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// Audit records the entries of reads, in a transaction of their own.
	Audit(ctx context.Context, entries ...AuditEntry) error
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise; events published in it are sent only if it
	// commits.
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// CustomerUpdate is a customer to overwrite, provided its stored version is
// still PrevVersion.
type CustomerUpdate struct {
	Customer    Customer
	PrevVersion int64
}

// Tx is a unit of work: writes and the events they produce commit together.
type Tx interface {
	Reader
	// ContactOwners returns, of the given contact keys (Contact.Key), those
	// held by a customer, with the holder's id.
	ContactOwners(ctx context.Context, keys []string) (map[string]string, error)
	// CreateCustomers stores new customers. A non-empty requestID is
	// recorded with the first; when another customer already holds it, the
	// error wraps ErrDuplicateRequest. A contact taken meanwhile by another
	// customer fails with a *DuplicateError unless the customer is a
	// possible duplicate. Either failure leaves the transaction unusable.
	CreateCustomers(ctx context.Context, cs []Customer, requestID string) error
	// UpdateCustomer overwrites the stored customer c.ID provided its
	// version is still prevVersion, and returns ErrStale otherwise.
	UpdateCustomer(ctx context.Context, c Customer, prevVersion int64) error
	// UpdateCustomers is UpdateCustomer for many customers in one bulk
	// write; when any of them is stale (or gone) none is written and the
	// error wraps ErrStale (or is a *NotFoundError).
	UpdateCustomers(ctx context.Context, updates []CustomerUpdate) error
	// OwnedBy returns the active and deleted customers of owner matching an
	// AIP-160 filter (empty: all).
	OwnedBy(ctx context.Context, owner, filter string) ([]OwnedCustomer, error)
	// TransferOwnership applies changes (all from one owner to one owner)
	// as one bulk write, new versions at now, and records them.
	TransferOwnership(ctx context.Context, changes []OwnershipChange, now time.Time) error
	// RecordOwnershipChanges appends to customers' ownership histories.
	RecordOwnershipChanges(ctx context.Context, changes []OwnershipChange) error
	// Repoint moves what refers to mergedID (relationships, ownership
	// history, customers merged into it earlier) to survivorID.
	Repoint(ctx context.Context, mergedID, survivorID string) error
	// DeleteRelationshipsOf removes every relationship of a customer.
	DeleteRelationshipsOf(ctx context.Context, customerID string) error
	// CreateRelationship stores r; the same (from, to, type) twice is a
	// *ConflictError.
	CreateRelationship(ctx context.Context, r Relationship) error
	// DeleteRelationship removes a relationship, or returns a
	// *NotFoundError.
	DeleteRelationship(ctx context.Context, id string) error
	// CreateDefinition stores d; an existing name is a *ConflictError.
	CreateDefinition(ctx context.Context, d AttributeDefinition) error
	// UpdateDefinition overwrites the definition d.Name.
	UpdateDefinition(ctx context.Context, d AttributeDefinition) error
	// DeleteDefinition removes the definition name.
	DeleteDefinition(ctx context.Context, name string) error
	// AttributeInUse reports whether a customer carries attribute name,
	// with one of values when values is not empty.
	AttributeInUse(ctx context.Context, def AttributeDefinition, values []string) (bool, error)
	// Audit records entries in the transaction, for changes.
	Audit(ctx context.Context, entries ...AuditEntry) error
	// Publish records events for delivery after commit.
	Publish(ctx context.Context, evs ...Event) error
}
