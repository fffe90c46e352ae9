// Package channels holds the notification service's delivery channels.
// Sink, the default, delivers nothing: like a development mail catcher it
// stores every delivery in the service's database, so developers can see
// what would have been sent, and logs that it did.
package channels

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/sqldb"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// Sink is the default domain.Sender.
type Sink struct {
	db     *sqldb.DB
	logger *slog.Logger
	now    func() time.Time
}

var (
	_ domain.Sender      = (*Sink)(nil)
	_ domain.BatchSender = (*Sink)(nil)
)

// NewSink returns a Sink storing deliveries in db (migrated with the
// service's migrations).
func NewSink(db *sqldb.DB, logger *slog.Logger) *Sink {
	if logger == nil {
		logger = slog.Default()
	}
	return &Sink{db: db, logger: logger, now: time.Now}
}

// CaughtDelivery is one delivery the sink stored.
type CaughtDelivery struct {
	domain.Delivery
	Time time.Time
}

// Send stores d and logs it. The log names the message, channel and
// template only: address, subject and body are personal data.
func (s *Sink) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	receipts, errs := s.SendBatch(ctx, []domain.Delivery{d})
	return receipts[0], errs[0]
}

// SendBatch stores the deliveries in one bulk insert, so a campaign's
// messages reach the sink as fast as the database takes them.
func (s *Sink) SendBatch(ctx context.Context, ds []domain.Delivery) ([]domain.Receipt, []error) {
	receipts := make([]domain.Receipt, len(ds))
	errs := make([]error, len(ds))
	rows := make([][]any, len(ds))
	at := sqldb.Micros(s.now())
	for i, d := range ds {
		id, err := uuid.NewV7()
		if err != nil {
			for j := range errs {
				errs[j] = fmt.Errorf("sink delivery: new id: %w", err)
			}
			return receipts, errs
		}
		rows[i] = []any{id.String(), d.MessageID, string(d.Channel), d.Address, d.Template, d.Subject, d.Body, at}
		receipts[i] = domain.Receipt{ProviderResponse: "stored by the dev sink as " + id.String()}
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return tx.InsertRows(ctx, "sink_deliveries", sinkColumns, rows)
	})
	if err != nil {
		for j := range errs {
			errs[j] = fmt.Errorf("sink delivery: %w", err)
		}
		return receipts, errs
	}
	for _, d := range ds {
		s.logger.DebugContext(ctx, "message delivered to sink",
			slog.String("message_id", d.MessageID),
			slog.String("channel", string(d.Channel)),
			slog.String("template", d.Template))
	}
	return receipts, errs
}

var sinkColumns = []string{"id", "message_id", "channel", "address", "template", "subject", "body", "deliver_time"}

// Deliveries returns what the sink caught, oldest first: for messageID
// only when it is not empty.
func (s *Sink) Deliveries(ctx context.Context, messageID string) ([]CaughtDelivery, error) {
	q := `SELECT message_id, channel, address, template, subject, body, deliver_time FROM sink_deliveries`
	var args []any
	if messageID != "" {
		q += ` WHERE message_id = ?`
		args = append(args, messageID)
	}
	q += ` ORDER BY deliver_time, id`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list sink deliveries: %w", err)
	}
	defer rows.Close()
	var out []CaughtDelivery
	for rows.Next() {
		var (
			d       CaughtDelivery
			channel string
			at      int64
		)
		if err := rows.Scan(&d.MessageID, &channel, &d.Address, &d.Template, &d.Subject, &d.Body, &at); err != nil {
			return nil, fmt.Errorf("scan sink delivery: %w", err)
		}
		d.Channel = domain.Channel(channel)
		d.Time = sqldb.FromMicros(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sink deliveries: %w", err)
	}
	return out, nil
}
