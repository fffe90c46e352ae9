package notification

import (
	"context"
	"fmt"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	eventsport "github.com/guanxi-crm/guanxi/services/notification/internal/ports/events"
	"github.com/guanxi-crm/guanxi/services/notification/migrations"
)

// ImportCustomers loads customers (from a customer export) into the
// service's read model of the database at databaseURL, with their
// consents, in bulk and without welcoming anyone: a new deployment, or
// one whose read model was lost, starts from the export and follows the
// customer events from there. The database is migrated first; the
// customers must not be in the read model yet.
func ImportCustomers(ctx context.Context, databaseURL string, customers []*customerv1.Customer) error {
	db, err := sqldb.Open(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("import customers: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return fmt.Errorf("import customers: %w", err)
	}
	const batch = 5000
	for start := 0; start < len(customers); start += batch {
		part := customers[start:min(start+batch, len(customers))]
		var recipients, consents [][]any
		for _, c := range part {
			r := eventsport.ToDomainRecipient(c)
			recipients = append(recipients, []any{r.CustomerID, r.Name, r.Email, r.Phone, r.Locale, r.TimeZone, r.BirthMonth, r.BirthDay})
			for _, a := range eventsport.ToDomainConsents(c, c.GetCreateTime().AsTime()) {
				consents = append(consents, []any{a.CustomerID, string(a.Channel), string(a.Status), a.Source, sqldb.Micros(a.UpdateTime)})
			}
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := tx.InsertRows(ctx, "recipients", []string{"customer_id", "name", "email", "phone", "locale", "time_zone", "birth_month", "birth_day"}, recipients); err != nil {
				return err
			}
			return tx.InsertRows(ctx, "consents", []string{"customer_id", "channel", "status", "source", "update_time"}, consents)
		})
		if err != nil {
			return fmt.Errorf("import customers: %w", err)
		}
	}
	return nil
}
