package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// ImportRow is one row of an imported file.
type ImportRow struct {
	// Line is where the row starts in the file.
	Line int64
	// Profile holds the row's values, Fields the ones it sets.
	Profile domain.Profile
	Fields  []domain.Field
	// ParseError, when set, is why the row could not be read at all.
	ParseError *RowError
}

// RowError is why one row was not imported.
type RowError struct {
	Line   int64
	Field  string
	Reason string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Rows, Created, Updated, Unchanged, Failed int64
	// Errors are the refused rows in file order, at most MaxImportErrors.
	Errors []RowError
}

// MaxImportErrors bounds the row errors an import reports, so a wholly
// wrong file cannot produce an answer larger than a gRPC message may be.
const MaxImportErrors = 10000

// Import upserts customers batch by batch; rows with an external id that a
// customer holds update that customer (only the fields the row sets), the
// rest create customers. Each batch is one transaction; a row that fails
// fails alone.
type Import struct {
	app            *App
	allowDuplicate bool
	result         ImportResult
}

// NewImport starts an import for the caller of ctx.
func (a *App) NewImport(allowDuplicate bool) *Import {
	return &Import{app: a, allowDuplicate: allowDuplicate}
}

// Add imports one batch of rows.
func (im *Import) Add(ctx context.Context, rows []ImportRow) error {
	var good []ImportRow
	for _, r := range rows {
		im.result.Rows++
		if r.ParseError != nil {
			im.fail(*r.ParseError)
			continue
		}
		good = append(good, r)
	}
	var res batchResult
	err := im.app.inTx(ctx, func(tx domain.Tx) error {
		var err error
		res, err = im.app.importBatch(ctx, tx, good, im.allowDuplicate)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A row that breaks a database rule the checks did not foresee
		// (such as an external id taken meanwhile) fails the batch's
		// transaction; the rows then go one by one so only it fails.
		res = batchResult{}
		for _, r := range good {
			var one batchResult
			err := im.app.inTx(ctx, func(tx domain.Tx) error {
				var err error
				one, err = im.app.importBatch(ctx, tx, []ImportRow{r}, im.allowDuplicate)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				one = batchResult{errors: []RowError{rowError(r.Line, err)}}
			}
			res.add(one)
		}
	}
	im.result.Created += res.created
	im.result.Updated += res.updated
	im.result.Unchanged += res.unchanged
	for _, e := range res.errors {
		im.fail(e)
	}
	return nil
}

func (im *Import) fail(e RowError) {
	im.result.Failed++
	if len(im.result.Errors) < MaxImportErrors {
		im.result.Errors = append(im.result.Errors, e)
	}
}

// Finish audits the import and returns its result.
func (im *Import) Finish(ctx context.Context) (ImportResult, error) {
	r := im.result
	detail := fmt.Sprintf("rows=%d created=%d updated=%d unchanged=%d failed=%d", r.Rows, r.Created, r.Updated, r.Unchanged, r.Failed)
	return r, wrap("import customers", im.app.store.Audit(ctx, im.app.auditEntry(ctx, "ImportCustomers", "", "", detail)))
}

type batchResult struct {
	created, updated, unchanged int64
	errors                      []RowError
}

func (b *batchResult) add(o batchResult) {
	b.created += o.created
	b.updated += o.updated
	b.unchanged += o.unchanged
	b.errors = append(b.errors, o.errors...)
}

// importBatch writes rows in tx: one read of the external ids and contacts
// they name, then bulk writes.
func (a *App) importBatch(ctx context.Context, tx domain.Tx, rows []ImportRow, allowDuplicate bool) (batchResult, error) {
	var res batchResult
	defs, err := tx.Definitions(ctx)
	if err != nil {
		return res, err
	}
	var extIDs []string
	for _, r := range rows {
		if id := strings.TrimSpace(r.Profile.ExternalID); id != "" {
			extIDs = append(extIDs, id)
		}
	}
	existing, err := tx.CustomersByExternalID(ctx, extIDs)
	if err != nil {
		return res, err
	}
	type pending struct {
		row      ImportRow
		next     domain.Customer
		prev     *domain.Customer
		changed  []domain.Field
		contacts []domain.Contact
	}
	now, actor := a.clock(), callerOf(ctx).Actor
	var todo []pending
	var keys []string
	seenExt := map[string]int64{}
	for _, r := range rows {
		ext := strings.TrimSpace(r.Profile.ExternalID)
		if line, ok := seenExt[ext]; ok && ext != "" {
			res.errors = append(res.errors, RowError{Line: r.Line, Field: "external_id",
				Reason: fmt.Sprintf("repeats the external_id of line %d", line)})
			continue
		}
		seenExt[ext] = r.Line
		p := pending{row: r}
		if cur, ok := existing[ext]; ok && ext != "" {
			next, changed, err := cur.Apply(r.Profile, r.Fields, defs, now)
			if err != nil {
				res.errors = append(res.errors, rowError(r.Line, err))
				continue
			}
			if len(changed) == 0 {
				res.unchanged++
				continue
			}
			p.next, p.prev, p.changed, p.contacts = next, &cur, changed, addedContacts(cur.Profile, next.Profile)
		} else {
			prof := r.Profile
			if strings.TrimSpace(prof.OwnerID) == "" && actor != Anonymous {
				prof.OwnerID = actor
			}
			c, err := domain.NewCustomer(newID(), prof, defs, now)
			if err != nil {
				res.errors = append(res.errors, rowError(r.Line, err))
				continue
			}
			p.next, p.contacts = c, c.Contacts()
		}
		for _, ct := range p.contacts {
			keys = append(keys, ct.Key())
		}
		todo = append(todo, p)
	}
	owners, err := tx.ContactOwners(ctx, keys)
	if err != nil {
		return res, err
	}
	var creates []domain.Customer
	var changes []domain.OwnershipChange
	var evs []domain.Event
	for _, p := range todo {
		c := p.next
		if dup := firstTaken(p.contacts, owners, c.ID); dup != nil {
			if !allowDuplicate || p.prev != nil {
				res.errors = append(res.errors, rowError(p.row.Line, dup))
				continue
			}
			c.PossibleDuplicate = true
		}
		for _, ct := range p.contacts {
			if _, taken := owners[ct.Key()]; !taken {
				owners[ct.Key()] = c.ID
			}
		}
		if p.prev != nil {
			if err := tx.UpdateCustomer(ctx, c, p.prev.Version); err != nil {
				return res, err
			}
			evs = append(evs, domain.CustomerUpdated{Customer: c, ChangedFields: p.changed})
			if p.prev.OwnerID != c.OwnerID || p.prev.TeamID != c.TeamID {
				changes = append(changes, domain.OwnershipChange{CustomerID: c.ID, FromOwner: p.prev.OwnerID,
					FromTeam: p.prev.TeamID, ToOwner: c.OwnerID, ToTeam: c.TeamID, Reason: "import", Actor: actor, Time: now})
			}
			res.updated++
			continue
		}
		creates = append(creates, c)
		changes = append(changes, domain.OwnershipChange{CustomerID: c.ID, ToOwner: c.OwnerID, ToTeam: c.TeamID,
			Reason: "import", Actor: actor, Time: now})
		evs = append(evs, domain.CustomerCreated{Customer: c})
		res.created++
	}
	if err := tx.CreateCustomers(ctx, creates, ""); err != nil {
		return res, err
	}
	if err := tx.RecordOwnershipChanges(ctx, changes); err != nil {
		return res, err
	}
	return res, tx.Publish(ctx, evs...)
}

// firstTaken returns the first contact held by a customer other than self.
func firstTaken(contacts []domain.Contact, owners map[string]string, self string) *domain.DuplicateError {
	for _, ct := range contacts {
		if owner, ok := owners[ct.Key()]; ok && owner != self {
			return &domain.DuplicateError{Field: ct.Field, Value: ct.Value, ExistingID: owner}
		}
	}
	return nil
}

// rowError describes why a row failed, naming the field when one is at
// fault.
func rowError(line int64, err error) RowError {
	var ve *validation.Error
	var dup *domain.DuplicateError
	switch {
	case errors.As(err, &ve) && len(ve.Violations) > 0:
		v := ve.Violations[0]
		reason := v.Description
		if n := len(ve.Violations); n > 1 {
			reason += fmt.Sprintf(" (and %d more problems)", n-1)
		}
		return RowError{Line: line, Field: v.Field, Reason: reason}
	case errors.As(err, &dup):
		return RowError{Line: line, Field: dup.Field, Reason: dup.Error()}
	}
	var ce *domain.ConflictError
	if errors.As(err, &ce) {
		return RowError{Line: line, Reason: ce.Reason}
	}
	return RowError{Line: line, Reason: "could not be stored"}
}

// ExportBatch is how many customers an export reads and sends at a time.
const ExportBatch = 1000

// ExportCustomers calls send with every active customer matching filter and
// query, in id order, ExportBatch at a time, and audits the export with the
// number of customers it returned.
func (a *App) ExportCustomers(ctx context.Context, filter, query string, send func([]domain.Customer) error) (int, error) {
	q := domain.ListQuery{Filter: filter, Terms: domain.SearchTerms(query)}
	n, after := 0, ""
	for {
		page, err := a.store.ScanCustomers(ctx, q, after, ExportBatch)
		if err != nil {
			return n, wrap("export customers", err)
		}
		if len(page) == 0 {
			break
		}
		if err := send(page); err != nil {
			return n, err
		}
		n += len(page)
		after = page[len(page)-1].ID
	}
	detail := fmt.Sprintf("filter=%q query_terms=%d returned=%d", redactFilter(filter), len(q.Terms), n)
	return n, wrap("export customers", a.store.Audit(ctx, a.auditEntry(ctx, "ExportCustomers", "", "", detail)))
}
