// Package lifecycle carries, in a context, the news that the process was
// asked to stop, ahead of the context's end: process.Run announces it at
// the start of its drain, and servers (grpcserver, the gateway) report
// themselves not ready on it while they go on serving. It depends on
// nothing, so any server may read it.
package lifecycle

import (
	"context"
	"sync"
)

type stoppingKey struct{}

// WithStopping returns a context whose Stopping channel is closed by stop
// (safe to call more than once).
func WithStopping(ctx context.Context) (_ context.Context, stop func()) {
	ch := make(chan struct{})
	return context.WithValue(ctx, stoppingKey{}, ch), sync.OnceFunc(func() { close(ch) })
}

// Stopping returns a channel that is closed once the process was asked to
// stop (SIGTERM or SIGINT), at the start of the drain, while ctx is still
// live: servers report themselves not ready on it and go on serving until
// ctx is done. For a ctx without one (tests, guanxi dev) it is nil, which
// never fires: such a caller stops when its ctx is done.
func Stopping(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(chan struct{})
	return ch
}
