package domain

import "time"

// AuditEntry records one access to or change of customer data: who, when,
// what and why. Details never hold personal data, so the log survives
// erasure unchanged.
type AuditEntry struct {
	ID   string
	Time time.Time
	// Actor is the person the access was made for, or the service when
	// it acted for nobody.
	Actor string
	// Via is the service that made the call for Actor ("" for a direct
	// call).
	Via        string
	Action     string
	CustomerID string
	Reason     string
	Detail     string
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	// CustomerIDs, when set, keeps entries about any of these customers (a
	// survivor and the customers merged into it).
	CustomerIDs []string
	Actor       string
	// Start and End bound the time, [Start, End); zero means unbounded.
	Start, End time.Time
	Limit      int
	Offset     int
}
