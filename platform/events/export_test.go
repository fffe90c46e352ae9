package events

import "context"

// RelayOnce runs one relay round synchronously, so tests can assert on its
// outcome without waiting on the background loop.
func (o *Outbox) RelayOnce(ctx context.Context) (int, error) { return o.relayBatch(ctx) }
