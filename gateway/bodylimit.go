package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// DefaultMaxBodyBytes is the default cap on a REST request body (8 MiB).
// It is sized for the largest batch the API takes: 10,000 call-center
// events (domain.MaxIngestBatch of the interaction service) of about 500
// bytes of JSON each, a summary, details and ids included, come to about
// 5 MiB (TestLargestIngestBatchFitsTheBodyCap measures one). The gRPC
// servers take messages as large (grpcserver.MaxMessageBytes), and a
// message's protobuf form is never longer than its JSON.
const DefaultMaxBodyBytes = 8 << 20

// bodyLimitKey is the request context key of the request's *bodyLimit.
type bodyLimitKey struct{}

// bodyLimit records that a request's body went past the cap, so that the
// error grpc-gateway makes of the failed read (an InvalidArgument, 400) is
// answered as what it is: 413 Content Too Large.
type bodyLimit struct {
	max      int64
	exceeded atomic.Bool
}

// limitBody caps request bodies at max bytes: a declared length over it is
// refused at once, a body that runs past it (chunked) fails its read and
// is answered 413 by errorHandler. max 0 is DefaultMaxBodyBytes.
func limitBody(next http.Handler, max int64) http.Handler {
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeBodyTooLarge(w, max)
			return
		}
		lim := &bodyLimit{max: max}
		r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, max), limit: lim}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, lim)))
	})
}

// limitedBody notes in its bodyLimit when the read went past the cap.
type limitedBody struct {
	io.ReadCloser
	limit *bodyLimit
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, over := errors.AsType[*http.MaxBytesError](err); over {
		b.limit.exceeded.Store(true)
	}
	return n, err
}

// bodyTooLarge reports whether r's body went past the cap, and the cap.
func bodyTooLarge(r *http.Request) (int64, bool) {
	lim, _ := r.Context().Value(bodyLimitKey{}).(*bodyLimit)
	if lim == nil || !lim.exceeded.Load() {
		return 0, false
	}
	return lim.max, true
}

func writeBodyTooLarge(w http.ResponseWriter, max int64) {
	// Code 3 is gRPC's INVALID_ARGUMENT, as for any other refused input.
	writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
		"code":    3,
		"message": fmt.Sprintf("the request body is too large: at most %d bytes (GUANXI_GATEWAY_MAX_BODY_BYTES)", max),
	})
}
