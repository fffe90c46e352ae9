package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/auth"
)

// errPermanent marks an answer a retry cannot change (a 4xx other than
// 408 and 429, a gRPC InvalidArgument, ...): the POS gives up at once.
var errPermanent = errors.New("permanent")

// dial connects to addr (a load balancer) as a client of the deployment
// does: plaintext, with a bearer token, no retry policy of its own (the
// caller retries as a POS would).
func dial(addr, token string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.Token(token)))
}

// retryable says whether a POS retries a gRPC error: the call may not
// have reached a live replica, or timed out, or failed inside.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Internal,
		codes.Unknown, codes.Canceled:
		return true
	}
	return false
}

// retry calls f with backoff until it succeeds, fails permanently, or
// until gives up (then the error is the last one). attempts counts the
// calls made.
func retry(ctx context.Context, until time.Time, f func(ctx context.Context) error) (attempts int, err error) {
	backoff := 50 * time.Millisecond
	for {
		attempts++
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = f(cctx)
		cancel()
		if err == nil || errors.Is(err, errPermanent) {
			return attempts, err
		}
		if ctx.Err() != nil || time.Now().After(until) {
			return attempts, err
		}
		sleep := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return attempts, err
		case <-time.After(sleep):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// grpcErr classifies a gRPC error for retry.
func grpcErr(err error) error {
	if err == nil || retryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errPermanent, err)
}

// rest calls the REST edge.
type rest struct {
	base, token string
	client      *http.Client
}

// post sends in as JSON to path with an Idempotency-Key and decodes the
// answer into out.
func (r *rest) post(ctx context.Context, path, idempotencyKey string, in, out proto.Message) error {
	body, err := protojson.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err // the connection: retry
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: decode %s: %w", errPermanent, path, err)
		}
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, truncate(raw))
	default:
		return fmt.Errorf("%w: POST %s: %s %s", errPermanent, path, resp.Status, truncate(raw))
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}

func isPermanent(err error) bool { return errors.Is(err, errPermanent) }
