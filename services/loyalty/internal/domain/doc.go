// Package domain holds the loyalty service's business rules: programs and
// their earning rules, members, the append-only points ledger, tiers,
// expiry, member days, rewards and redemptions. It imports no proto, SQL or
// messaging package; adapters implement the interfaces it declares.
package domain
