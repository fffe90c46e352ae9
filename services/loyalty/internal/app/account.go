package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/guanxi-crm/guanxi/platform/merges"
	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/loyalty/internal/domain"
)

// Accounts enrolls customers in programs and reads members' accounts and
// ledgers.
type Accounts struct{ *core }

// Account is a member's standing in a program, computed from the ledger.
type Account struct {
	Member  domain.Member
	Summary domain.Summary
	Tier    domain.TierDef
	// NextTier is the tier above; zero at the top.
	NextTier        domain.TierDef
	PointsToNext    int64
	SpendToNext     int64
	ExpiringPoints  int64
	ExpiringTime    time.Time
	HasNextTier     bool
	ProgramTimeZone string
}

// Account returns a customer's account in a program ("" is the default
// program); for a customer merged into another, the survivor's (which
// names the survivor).
func (s *Accounts) Account(ctx context.Context, programID, customerID string) (Account, error) {
	programID = s.programID(programID)
	if err := validateMemberRef(programID, customerID); err != nil {
		return Account{}, fmt.Errorf("get account: %w", err)
	}
	p, err := s.program(ctx, programID)
	if err != nil {
		return Account{}, fmt.Errorf("get account: %w", err)
	}
	now := s.now()
	m, sum, err := s.store.MemberSummary(ctx, p.ID, customerID, now, p.TierWindowStart(now))
	if err == nil && m.MergedInto != "" {
		// A merged customer's account is the survivor's; its own row holds
		// no entries any more.
		if m, err = s.readMember(ctx, p.ID, m.MergedInto); err == nil {
			sum, err = s.store.Summary(ctx, p.ID, m.CustomerID, now, p.TierWindowStart(now))
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("get account: %w", err)
	}
	a := Account{Member: m, Summary: sum, Tier: p.Tier(p.TierIndex(m.TierCode)), ProgramTimeZone: p.TimeZone}
	if i := p.TierIndex(m.TierCode) + 1; i < len(p.Tiers) {
		a.NextTier, a.HasNextTier = p.Tiers[i], true
		a.PointsToNext = max(0, a.NextTier.QualifyPoints-sum.WindowPoints)
		if a.NextTier.QualifySpendMinor > 0 {
			a.SpendToNext = max(0, a.NextTier.QualifySpendMinor-sum.WindowSpend)
			if a.SpendToNext == 0 {
				a.PointsToNext = 0
			}
		}
	}
	if p.ExpiryKind != domain.ExpiryNever {
		st, err := s.store.ExpiryState(ctx, p.ID, m.CustomerID)
		if err != nil {
			return Account{}, fmt.Errorf("get account: %w", err)
		}
		// What is due and not expired yet counts too: the job may lag.
		for _, e := range st.Plan(m.ExpiredThrough, now.AddDate(0, 0, max(p.ExpiryNoticeDays, 0))) {
			if a.ExpiringTime.IsZero() {
				a.ExpiringTime = e.ExpireTime
			}
			a.ExpiringPoints += e.Points
		}
	}
	return a, nil
}

// readMember reads a membership, following merges to the survivor.
func (s *Accounts) readMember(ctx context.Context, programID, customerID string) (domain.Member, error) {
	var m domain.Member
	_, err := merges.Resolve(ctx, func(ctx context.Context, id string) (string, error) {
		var err error
		m, err = s.store.Member(ctx, programID, id)
		return m.MergedInto, err
	}, customerID)
	if err != nil {
		return domain.Member{}, err
	}
	return m, nil
}

func validateMemberRef(programID, customerID string) error {
	var vs validation.Violations
	if err := domain.ValidateCustomerID("customer_id", customerID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := domain.ValidateID("program_id", programID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	return vs.Err()
}

// Page sizes of lists (AIP-158).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// LedgerPage is one page of a member's ledger.
type LedgerPage struct {
	Entries       []domain.LedgerEntry
	NextPageToken string
}

// ListLedger pages through a member's ledger, newest first.
func (s *Accounts) ListLedger(ctx context.Context, programID, customerID string, pageSize int, pageToken string) (LedgerPage, error) {
	programID = s.programID(programID)
	if err := validateMemberRef(programID, customerID); err != nil {
		return LedgerPage{}, fmt.Errorf("list ledger: %w", err)
	}
	var vs validation.Violations
	switch {
	case pageSize < 0:
		vs.Add("page_size", "must not be negative")
	case pageSize == 0:
		pageSize = defaultPageSize
	case pageSize > maxPageSize:
		pageSize = maxPageSize
	}
	var before string
	if pageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || domain.ValidateID("page_token", string(raw)) != nil {
			vs.Add("page_token", "is not a token this list returned")
		}
		before = string(raw)
	}
	if err := vs.Err(); err != nil {
		return LedgerPage{}, fmt.Errorf("list ledger: %w", err)
	}
	m, err := s.readMember(ctx, programID, customerID)
	if err != nil {
		return LedgerPage{}, fmt.Errorf("list ledger: %w", err)
	}
	entries, err := s.store.Ledger(ctx, programID, m.CustomerID, before, pageSize+1)
	if err != nil {
		return LedgerPage{}, fmt.Errorf("list ledger: %w", err)
	}
	page := LedgerPage{Entries: entries}
	if len(entries) > pageSize {
		page.Entries = entries[:pageSize]
		page.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(entries[pageSize-1].ID))
	}
	return page, nil
}

// OpenAccount enrolls a newly created customer in every program that
// enrolls automatically. eventID is the id of the event announcing the
// customer; seeing it again changes nothing. It is OpenAccounts with one
// event.
func (s *Accounts) OpenAccount(ctx context.Context, eventID, customerID string) error {
	return s.OpenAccounts(ctx, []NewCustomer{{EventID: eventID, CustomerID: customerID}})
}

// NewCustomer is an event announcing a newly created customer.
type NewCustomer struct {
	EventID    string
	CustomerID string
}

// OpenAccounts is OpenAccount for a batch of events, in one transaction
// and set-based, with the result of handling them one after the other:
// each event once per event id (one inbox statement); in each program that
// enrolls automatically, the batch's customers are read in one query and
// those who are no members yet join together (see join), their member
// numbers and events in the order of the events that announced them.
// Customers who are members already change nothing; one merged into
// another reaches the survivor, one by one, as any event naming it does.
func (s *Accounts) OpenAccounts(ctx context.Context, evs []NewCustomer) error {
	for _, ev := range evs {
		if err := domain.ValidateCustomerID("customer.id", ev.CustomerID); err != nil {
			return fmt.Errorf("open account: %w", err)
		}
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		// Inbox rows in id order, so two replicas marking overlapping
		// batches (a redelivery) cannot deadlock on them.
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.EventID
		}
		first, err := tx.MarkHandledMany(ctx, inboxCustomerCreated, slices.Sorted(slices.Values(ids)))
		if err != nil {
			return err
		}
		var customers []string
		seen := map[string]bool{}
		for _, ev := range evs {
			if first[ev.EventID] && !seen[ev.CustomerID] {
				seen[ev.CustomerID] = true
				customers = append(customers, ev.CustomerID)
			}
		}
		if len(customers) == 0 {
			return nil
		}
		programs, err := s.cachedPrograms(ctx, tx)
		if err != nil {
			return err
		}
		events := map[string][]domain.Event{}
		for _, p := range programs {
			if !p.AutoEnroll {
				continue
			}
			members, err := tx.Members(ctx, p.ID, customers)
			if err != nil {
				return err
			}
			var joining []string
			for _, id := range customers {
				m, ok := members[id]
				switch {
				case !ok:
					joining = append(joining, id)
				case m.MergedInto != "":
					// Rare (a creation replayed after a merge); enrolls
					// only a survivor with no membership, which a merge
					// never leaves.
					if _, err := s.resolveMember(ctx, tx, p, id, true, now); err != nil {
						return err
					}
				}
				// A member already changes nothing: no need to lock it,
				// as nothing of it is written.
			}
			joined, err := s.join(ctx, tx, p, joining, now)
			if err != nil {
				return err
			}
			for id, out := range joined {
				events[id] = append(events[id], out...)
			}
		}
		for _, id := range customers {
			if len(events[id]) > 0 {
				if err := tx.Publish(ctx, events[id]...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open account: %w", err)
	}
	return nil
}

// Enroll makes a customer a member of a program (crediting its welcome
// bonus); enrolling a member again changes nothing.
func (s *Accounts) Enroll(ctx context.Context, programID, customerID string) (Account, error) {
	var vs validation.Violations
	if err := domain.ValidateID("program_id", programID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := domain.ValidateCustomerID("customer_id", customerID); err != nil {
		vs = append(vs, err.(*validation.Error).Violations...)
	}
	if err := vs.Err(); err != nil {
		return Account{}, fmt.Errorf("enroll: %w", err)
	}
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		p, err := tx.Program(ctx, programID)
		if err != nil {
			return err
		}
		_, err = s.resolveMember(ctx, tx, p, customerID, true, s.now())
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("enroll: %w", err)
	}
	return s.Account(ctx, programID, customerID)
}
