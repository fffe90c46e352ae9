package logging

import (
	"context"
	"sync"
)

// requestNoteKey is the context key of a request's *requestNote.
type requestNoteKey struct{}

// requestNote is what the layers inside a request learn that its log line
// should say: the request log wraps them, so it cannot read their
// contexts, and they write here instead.
type requestNote struct {
	mu      sync.Mutex
	subject string
}

// WithRequestNote returns ctx carrying a fresh note for the request log
// line that the caller writes when the request ends (see NotedSubject).
func WithRequestNote(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestNoteKey{}, &requestNote{})
}

// NoteSubject records the verified caller of the request ctx belongs to,
// for its log line; without a note in ctx it does nothing. The subject is
// an account or key id, never a person's name or contact.
func NoteSubject(ctx context.Context, subject string) {
	if n, ok := ctx.Value(requestNoteKey{}).(*requestNote); ok {
		n.mu.Lock()
		n.subject = subject
		n.mu.Unlock()
	}
}

// NotedSubject returns the subject noted for the request of ctx, "" when
// none was verified.
func NotedSubject(ctx context.Context) string {
	n, ok := ctx.Value(requestNoteKey{}).(*requestNote)
	if !ok {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.subject
}
