// Package domain holds the loyalty service's business rules: accounts,
// points earned from purchases, the points ledger and tiers. It imports no
// proto, SQL or messaging package; adapters implement the interfaces it
// declares.
package domain
