package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	platformevents "github.com/guanxi-crm/guanxi/platform/events"
)

// ResetIfFiltersChanged deletes the durable consumer of cfg when it exists
// with other filter subjects than cfg's, and reports whether it did.
//
// JetStream lets events.Consume update a durable's filter subjects in
// place, but the consumer keeps its position: events of a newly added
// subject that were published before the update (by a customer service
// upgraded first) lie behind it and would never be delivered. Deleted,
// the durable is created afresh by events.Consume and delivers the whole
// stream again, in order; the inbox makes the events handled before no-ops.
func ResetIfFiltersChanged(ctx context.Context, js jetstream.JetStream, cfg platformevents.ConsumerConfig, logger *slog.Logger) (bool, error) {
	cons, err := js.Consumer(ctx, cfg.Stream, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up consumer %s: %w", cfg.Durable, err)
	}
	cur := cons.CachedInfo().Config
	have := slices.Clone(cur.FilterSubjects)
	if cur.FilterSubject != "" {
		have = append(have, cur.FilterSubject)
	}
	want := slices.Clone(cfg.FilterSubjects)
	slices.Sort(have)
	slices.Sort(want)
	if slices.Equal(have, want) {
		return false, nil
	}
	if err := js.DeleteConsumer(ctx, cfg.Stream, cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, fmt.Errorf("reset consumer %s: %w", cfg.Durable, err)
	}
	if logger != nil {
		logger.InfoContext(ctx, "consumer filter subjects changed; consumer recreated to read the stream from the start",
			slog.String("consumer", cfg.Durable), slog.Any("old_subjects", have), slog.Any("new_subjects", want))
	}
	return true, nil
}

// Consume runs a durable consumer as events.Consume does, after resetting
// it when its filter subjects changed (see ResetIfFiltersChanged).
func Consume(ctx context.Context, js jetstream.JetStream, cfg platformevents.ConsumerConfig, h platformevents.Handler, logger *slog.Logger) error {
	if _, err := ResetIfFiltersChanged(ctx, js, cfg, logger); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return platformevents.Consume(ctx, js, cfg, h, logger)
}
