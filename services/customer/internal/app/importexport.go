package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// Imports imports customers from files and exports them.
type Imports struct{ *core }

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
//
// Imports are pipelined: Add checks and normalizes a batch outside any
// transaction and hands it to a writer goroutine, so the next batch is read
// and prepared while the database stores this one. With several writers
// (WithImportWriters), batches are stored side by side, except that a
// batch waits for any earlier one sharing an external id or a contact with
// it: the file's order decides which row gets a contact, as in a file
// imported row by row.
type Import struct {
	app            *Imports
	allowDuplicate bool
	slots          chan struct{} // one token per writer
	inflight       []*importBatch
	running        sync.WaitGroup
	// askOwners is set once a batch met a contact that another customer
	// holds; until then batches skip asking who holds their contacts (see
	// writeImport).
	askOwners atomic.Bool

	mu     sync.Mutex // guards result and err
	result ImportResult
	err    error
}

// importBatch is a batch ready to write: the rows that parsed, the ones
// that did not, and, when preparing worked, the plan and the rows it
// refused. keys are its external ids and contact keys; done is closed
// once it is written.
type importBatch struct {
	rows     []ImportRow
	unread   []RowError
	prepared bool
	plan     []pending
	refused  []RowError
	keys     map[string]struct{}
	done     chan struct{}
}

// pending is one customer's change: a new customer, or next replacing
// prev, made by the row at line and by the later rows of the batch with
// the same external id (see fold).
type pending struct {
	line     int64
	next     domain.Customer
	prev     *domain.Customer
	changed  []domain.Field
	contacts []domain.Contact
	// later are the lines of the rows folded in; unchanged counts the
	// rows, this one included, that changed nothing.
	later     []int64
	unchanged int64
}

// fold applies a later row with the same external id, as if the file
// were imported row by row: the row updates what the earlier ones left.
func (p *pending) fold(row ImportRow, defs domain.Definitions, now time.Time) error {
	next, changed, err := p.next.Apply(row.Profile, row.Fields, defs, now)
	if err != nil {
		return err
	}
	p.later = append(p.later, row.Line)
	if len(changed) == 0 {
		p.unchanged++
		return nil
	}
	p.next = next
	for _, f := range changed {
		if !slices.Contains(p.changed, f) {
			p.changed = append(p.changed, f)
		}
	}
	if p.prev == nil {
		p.contacts = next.Contacts()
	} else {
		p.contacts = addedContacts(p.prev.Profile, next.Profile)
	}
	return nil
}

// count adds the outcome of p's rows once p is written.
func (p *pending) count(res *batchResult) {
	rows := 1 + int64(len(p.later))
	if p.prev == nil {
		res.created++
		rows--
	}
	res.updated += rows - p.unchanged
	res.unchanged += p.unchanged
}

// NewImport starts an import for the caller of ctx; Finish must be called.
func (a *Imports) NewImport(ctx context.Context, allowDuplicate bool) *Import {
	return &Import{app: a, allowDuplicate: allowDuplicate, slots: make(chan struct{}, a.importWriters)}
}

// Add prepares one batch of rows and queues it for writing; it waits while
// every writer is busy. It returns the error that stopped the import, if
// any. Add is not safe for concurrent use: batches are added in file order.
func (im *Import) Add(ctx context.Context, rows []ImportRow) error {
	if err := im.failed(); err != nil {
		return err
	}
	b := &importBatch{rows: make([]ImportRow, 0, len(rows)), done: make(chan struct{})}
	for _, r := range rows {
		if r.ParseError != nil {
			b.unread = append(b.unread, *r.ParseError)
			continue
		}
		b.rows = append(b.rows, r)
	}
	im.prepare(ctx, b)
	// A batch written before an earlier one that shares a key with it
	// could take a contact out of file order, and its plan was made
	// without that batch's rows: wait for those batches, then plan again.
	if waited, err := im.waitOverlapping(ctx, b); err != nil {
		return err
	} else if waited {
		im.prepare(ctx, b)
	}
	select {
	case im.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	im.inflight = append(im.inflight, b)
	im.running.Add(1)
	go func() {
		defer im.running.Done()
		defer func() { <-im.slots }()
		defer close(b.done)
		im.write(ctx, b)
	}()
	return nil
}

// prepare plans b's rows. When preparing fails the batch is written the
// slow way, row by row, each row prepared again inside its own transaction.
func (im *Import) prepare(ctx context.Context, b *importBatch) {
	plan, refused, err := im.app.prepareImport(ctx, im.app.store, b.rows)
	b.prepared, b.plan, b.refused = err == nil, plan, refused
	b.keys = map[string]struct{}{}
	for _, r := range b.rows {
		if ext := strings.TrimSpace(r.Profile.ExternalID); ext != "" {
			b.keys["ext:"+ext] = struct{}{}
		}
	}
	for _, p := range b.plan {
		for _, ct := range p.contacts {
			b.keys[ct.Key()] = struct{}{}
		}
	}
}

// waitOverlapping waits for the batches in flight that share a key with b
// and forgets the ones that are done; it reports whether it waited.
func (im *Import) waitOverlapping(ctx context.Context, b *importBatch) (bool, error) {
	waited := false
	live := im.inflight[:0]
	for _, o := range im.inflight {
		select {
		case <-o.done:
			continue
		default:
		}
		if !overlaps(o.keys, b.keys) {
			live = append(live, o)
			continue
		}
		waited = true
		select {
		case <-o.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	im.inflight = live
	return waited, nil
}

func overlaps(a, b map[string]struct{}) bool {
	if len(b) < len(a) {
		a, b = b, a
	}
	for k := range a {
		if _, ok := b[k]; ok {
			return true
		}
	}
	return false
}

// write stores a prepared batch in one transaction. If that fails for a
// reason the checks did not foresee (such as an external id another import
// took meanwhile), the rows go one by one so only the culprit fails.
func (im *Import) write(ctx context.Context, b *importBatch) {
	res := batchResult{errors: append(b.unread, b.refused...)}
	rows := int64(len(b.rows) + len(b.unread))
	if len(b.rows) == 0 {
		im.record(rows, res, nil)
		return
	}
	err := errNotPrepared
	if b.prepared {
		err = im.app.inTx(ctx, func(tx domain.Tx) error {
			ask := im.askOwners.Load()
			written, err := im.app.writeImport(ctx, tx, b.plan, im.allowDuplicate, ask)
			if !ask && errors.Is(err, domain.ErrRetry) {
				// The claim index refused a contact: inTx runs this
				// batch again, asking this time, and so do later ones.
				im.askOwners.Store(true)
			}
			if err == nil {
				res.add(written)
			}
			return err
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			im.record(rows, batchResult{}, ctx.Err())
			return
		}
		res = batchResult{errors: b.unread}
		for _, r := range b.rows {
			one, err := im.app.importRowAlone(ctx, r, im.allowDuplicate)
			if err != nil {
				if ctx.Err() != nil {
					im.record(rows, batchResult{}, ctx.Err())
					return
				}
				one = batchResult{errors: []RowError{rowError(r.Line, err)}}
			}
			res.add(one)
		}
	}
	im.record(rows, res, nil)
}

// record adds a written batch's result, or the error that stops the import.
func (im *Import) record(rows int64, res batchResult, err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err != nil {
		if im.err == nil {
			im.err = err
		}
		return
	}
	im.result.Rows += rows
	im.result.Created += res.created
	im.result.Updated += res.updated
	im.result.Unchanged += res.unchanged
	for _, e := range res.errors {
		im.result.Failed++
		// Batches finish out of file order, so keep a margin beyond
		// MaxImportErrors for Finish to keep the first ones by line.
		if len(im.result.Errors) < 2*MaxImportErrors {
			im.result.Errors = append(im.result.Errors, e)
		}
	}
}

func (im *Import) failed() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.err
}

// importRowAlone prepares and writes one row in its own transaction.
func (a *Imports) importRowAlone(ctx context.Context, r ImportRow, allowDuplicate bool) (batchResult, error) {
	var res batchResult
	err := a.inTx(ctx, func(tx domain.Tx) error {
		plan, refused, err := a.prepareImport(ctx, tx, []ImportRow{r})
		if err != nil {
			return err
		}
		res, err = a.writeImport(ctx, tx, plan, allowDuplicate, true)
		res.errors = append(refused, res.errors...)
		return err
	})
	return res, err
}

// Stop waits for the batches already added; it is safe to call more than
// once, and callers defer it so no writer outlives an import abandoned
// halfway.
func (im *Import) Stop() {
	im.running.Wait()
}

// Finish waits for the last batch, audits the import and returns its
// result; row errors come in file order, as batches may finish out of it.
func (im *Import) Finish(ctx context.Context) (ImportResult, error) {
	im.Stop()
	if im.err != nil {
		return ImportResult{}, wrap("import customers", im.err)
	}
	r := im.result
	slices.SortStableFunc(r.Errors, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	r.Errors = r.Errors[:min(len(r.Errors), MaxImportErrors)]
	detail := fmt.Sprintf("rows=%d created=%d updated=%d unchanged=%d failed=%d", r.Rows, r.Created, r.Updated, r.Unchanged, r.Failed)
	return r, wrap("import customers", im.app.store.Audit(ctx, im.app.auditEntry(ctx, "ImportCustomers", "", "", detail)))
}

var errNotPrepared = errors.New("batch not prepared")

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

// prepareImport turns rows into changes: an update of the customer holding
// the row's external id, or a new customer. Rows that break a rule are
// refused; rows that change nothing are planned as unchanged (next equal to
// prev and no fields changed).
func (a *Imports) prepareImport(ctx context.Context, r domain.Reader, rows []ImportRow) ([]pending, []RowError, error) {
	defs, err := r.Definitions(ctx)
	if err != nil {
		return nil, nil, err
	}
	var extIDs []string
	for _, row := range rows {
		if id := strings.TrimSpace(row.Profile.ExternalID); id != "" {
			extIDs = append(extIDs, id)
		}
	}
	existing, err := r.CustomersByExternalID(ctx, extIDs)
	if err != nil {
		return nil, nil, err
	}
	now, actor := a.clock(), callerOf(ctx).Actor // "" for a service acting for nobody
	plan := make([]pending, 0, len(rows))
	var refused []RowError
	planned := map[string]int{} // external id -> its change in plan
	for _, row := range rows {
		ext := strings.TrimSpace(row.Profile.ExternalID)
		if i, ok := planned[ext]; ok && ext != "" {
			if err := plan[i].fold(row, defs, now); err != nil {
				refused = append(refused, rowError(row.Line, err))
			}
			continue
		}
		if cur, ok := existing[ext]; ok && ext != "" {
			next, changed, err := cur.Apply(row.Profile, row.Fields, defs, now)
			if err != nil {
				refused = append(refused, rowError(row.Line, err))
				continue
			}
			p := pending{line: row.Line, next: next, prev: &cur, changed: changed,
				contacts: addedContacts(cur.Profile, next.Profile)}
			if len(changed) == 0 {
				p.unchanged = 1
			}
			planned[ext] = len(plan)
			plan = append(plan, p)
			continue
		}
		prof := row.Profile
		if strings.TrimSpace(prof.OwnerID) == "" && actor != "" {
			prof.OwnerID = actor
		}
		c, err := domain.NewCustomer(newID(), prof, defs, now)
		if err != nil {
			refused = append(refused, rowError(row.Line, err))
			continue
		}
		if ext != "" {
			planned[ext] = len(plan)
		}
		plan = append(plan, pending{line: row.Line, next: c, contacts: c.Contacts()})
	}
	return plan, refused, nil
}

// writeImport writes planned changes in tx: one read of who holds their
// contacts, then bulk writes, one for the changed customers and one for
// the new ones, whatever the batch's size. A contact another customer holds refuses the
// row, unless duplicates are allowed for new customers.
//
// Without askOwners the read is skipped: in most imports no row repeats a
// contact already stored, and the read cost the database as much as a
// sixth of the import. A contact someone holds then fails the batch with
// domain.ErrRetry when the claim index refuses it, and the caller writes
// the batch again asking.
func (a *Imports) writeImport(ctx context.Context, tx domain.Tx, plan []pending, allowDuplicate, askOwners bool) (batchResult, error) {
	var res batchResult
	owners := map[string]string{}
	if askOwners {
		var keys []string
		for _, p := range plan {
			for _, ct := range p.contacts {
				keys = append(keys, ct.Key())
			}
		}
		var err error
		if owners, err = tx.ContactOwners(ctx, keys); err != nil {
			return res, err
		}
	}
	actor := callerOf(ctx).Name()
	// Sized for a batch of new customers, the common case: growing these
	// copied every customer several times over.
	creates := make([]domain.Customer, 0, len(plan))
	var updates []domain.CustomerUpdate
	changes := make([]domain.OwnershipChange, 0, len(plan))
	evs := make([]domain.Event, 0, len(plan))
	for _, p := range plan {
		c := p.next
		if p.prev != nil && len(p.changed) == 0 {
			p.count(&res)
			continue
		}
		if dup := firstTaken(p.contacts, owners, c.ID); dup != nil {
			if !allowDuplicate || p.prev != nil {
				for _, line := range append([]int64{p.line}, p.later...) {
					res.errors = append(res.errors, rowError(line, dup))
				}
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
			updates = append(updates, domain.CustomerUpdate{Customer: c, PrevVersion: p.prev.Version})
			evs = append(evs, domain.CustomerUpdated{Customer: c, ChangedFields: p.changed})
			if p.prev.OwnerID != c.OwnerID || p.prev.TeamID != c.TeamID {
				change := domain.OwnershipChange{CustomerID: c.ID, FromOwner: p.prev.OwnerID,
					FromTeam: p.prev.TeamID, ToOwner: c.OwnerID, ToTeam: c.TeamID, Reason: "import", Actor: actor, Time: c.UpdateTime}
				changes = append(changes, change)
				evs = append(evs, domain.OwnershipChanged{Change: change})
			}
			p.count(&res)
			continue
		}
		creates = append(creates, c)
		changes = append(changes, domain.OwnershipChange{CustomerID: c.ID, ToOwner: c.OwnerID, ToTeam: c.TeamID,
			Reason: "import", Actor: actor, Time: c.CreateTime})
		evs = append(evs, domain.CustomerCreated{Customer: c, Imported: true})
		p.count(&res)
	}
	// All the batch's changed customers in one bulk write, then its new
	// ones in another; which row got a contact was settled above, in file
	// order.
	if err := tx.UpdateCustomers(ctx, updates); err != nil {
		return res, err
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
			return &domain.DuplicateError{Field: ct.Field, ExistingID: owner}
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
	var se *domain.StateError
	switch {
	case errors.As(err, &ce):
		return RowError{Line: line, Reason: ce.Reason}
	case errors.As(err, &se):
		return RowError{Line: line, Reason: se.Error()}
	}
	return RowError{Line: line, Reason: "could not be stored"}
}

// ExportBatch is how many customers an export reads at a time: large
// batches cost the database fewer queries for the same rows.
const ExportBatch = 5000

// ExportCustomers calls send with every active customer matching filter and
// query, in id order, ExportBatch at a time, and audits the export with the
// number of customers it returned. The next batch is read while send
// delivers the current one.
func (a *Imports) ExportCustomers(ctx context.Context, filter, query string, send func([]domain.Customer) error) (int, error) {
	q := domain.ListQuery{Filter: filter, Terms: domain.SearchTerms(query), Scope: callerOf(ctx).Scope}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []domain.Customer, 1)
	var readErr error
	go func() {
		defer close(pages)
		after := ""
		for {
			page, err := a.store.ScanCustomers(ctx, q, after, ExportBatch)
			if err != nil || len(page) == 0 {
				readErr = err
				return
			}
			select {
			case pages <- page:
			case <-ctx.Done():
				return
			}
			after = page[len(page)-1].ID
		}
	}()
	n := 0
	for page := range pages {
		if err := send(page); err != nil {
			return n, err
		}
		n += len(page)
	}
	// The reader has finished: pages is closed only after readErr is set.
	if readErr != nil {
		return n, wrap("export customers", readErr)
	}
	detail := fmt.Sprintf("filter=%q query_terms=%d returned=%d", redactFilter(filter), len(q.Terms), n)
	return n, wrap("export customers", a.store.Audit(ctx, a.auditEntry(ctx, "ExportCustomers", "", "", detail)))
}
