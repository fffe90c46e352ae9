package events

import (
	"context"
	"time"
)

// RelayOnce runs one relay round synchronously, so tests can assert on its
// outcome without waiting on the background loop.
func (o *Outbox) RelayOnce(ctx context.Context) (int, error) { return o.relayBatch(ctx) }

// RelayCommitted publishes what committed in this process and deletes
// its rows, as Run does after every commit and deleteAfter later.
func (o *Outbox) RelayCommitted(ctx context.Context) error {
	err := o.relayCommitted(ctx)
	o.deletePublished(ctx)
	return err
}

// FullScanDue makes the next relay round read the outbox from the start,
// as it does every fullScanEvery.
func (o *Outbox) FullScanDue() { o.lastFull = time.Time{} }

// ReadsFromCursor makes the next relay rounds read on from the last event
// published, as they do between full scans.
func (o *Outbox) ReadsFromCursor() { o.lastFull = time.Now() }

// VersionAtLeast is versionAtLeast, the server version comparison of
// CheckServerVersion.
func VersionAtLeast(have, want string) bool { return versionAtLeast(have, want) }
