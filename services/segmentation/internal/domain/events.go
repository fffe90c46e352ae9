package domain

// Event is a domain event the segmentation service publishes: ClassChanged
// or MembershipChanged. Events are published inside the transaction that
// made the change (transactional outbox), so they exist exactly when the
// change does.
type Event interface {
	isEvent()
}

func (ClassChanged) isEvent()      {}
func (MembershipChanged) isEvent() {}
