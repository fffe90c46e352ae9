package domain

import "time"

// Event is a domain event: a fact other services learn about.
type Event interface {
	isEvent()
}

// InteractionRecorded is emitted for every new interaction, purchases
// included.
type InteractionRecorded struct {
	Interaction Interaction
}

// PurchaseRecorded is emitted for every new purchase, next to its
// InteractionRecorded, for consumers (loyalty, segmentation) that care about
// purchases only.
type PurchaseRecorded struct {
	InteractionID string
	CustomerID    string
	Total         Money
	Lines         []PurchaseLine
	OccurTime     time.Time
	OrderID       string
}

func (InteractionRecorded) isEvent() {}
func (PurchaseRecorded) isEvent()    {}

// RecordedEvents returns the events recording in produces.
func RecordedEvents(in Interaction) []Event {
	evs := []Event{InteractionRecorded{Interaction: in}}
	if in.Purchase != nil {
		evs = append(evs, PurchaseRecorded{
			InteractionID: in.ID,
			CustomerID:    in.CustomerID,
			Total:         in.Purchase.Total,
			Lines:         in.Purchase.Lines,
			OccurTime:     in.OccurTime,
			OrderID:       in.Purchase.OrderID,
		})
	}
	return evs
}
