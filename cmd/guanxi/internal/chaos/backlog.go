package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/deploy"
)

// backlog is the work the deployment still has queued: events in each
// service's outbox, messages each durable consumer has not acknowledged
// yet, notifications queued. An effect missing while work is queued may
// still come; one missing when nothing is queued is lost.
func backlog(ctx context.Context, dep *deploy.Deployment, js jetstream.JetStream) (map[string]int64, error) {
	out := map[string]int64{}
	count := func(name, query, key string) error {
		url := dep.DatabaseURL(name)
		if url == "" {
			return nil
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var n int64
		if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
			return nil // no such table in this service
		}
		if n > 0 {
			out[key] = n
		}
		return nil
	}
	for _, s := range deploy.Services {
		if err := count(s, "SELECT count(*) FROM outbox", s+"-outbox"); err != nil {
			return nil, err
		}
	}
	if err := count("notification", "SELECT count(*) FROM messages WHERE status = 'QUEUED'", "notification-queued"); err != nil {
		return nil, err
	}
	streams := js.ListStreams(ctx)
	for st := range streams.Info() {
		s, err := js.Stream(ctx, st.Config.Name)
		if err != nil {
			return nil, err
		}
		consumers := s.ListConsumers(ctx)
		for c := range consumers.Info() {
			if n := int64(c.NumPending) + int64(c.NumAckPending); n > 0 {
				out[c.Name] = n
			}
		}
		if err := consumers.Err(); err != nil {
			return nil, fmt.Errorf("consumers of %s: %w", st.Config.Name, err)
		}
	}
	if err := streams.Err(); err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	return out, nil
}

func describe(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
