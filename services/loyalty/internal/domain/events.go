package domain

// Event is a domain event the loyalty service publishes. Events are
// published inside the transaction that made the change (transactional
// outbox), so they exist exactly when the change does.
type Event interface {
	isEvent()
}

// PointsEarned says a member was credited points.
type PointsEarned struct {
	CustomerID    string
	Points        int64
	PointsBalance int64
	InteractionID string
}

// TierChanged says a member moved to another tier.
type TierChanged struct {
	CustomerID string
	OldTier    Tier
	NewTier    Tier
}

func (PointsEarned) isEvent() {}
func (TierChanged) isEvent()  {}
