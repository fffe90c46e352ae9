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

// ReturnRecorded is emitted for every new return: loyalty reverses the
// points of the returned lines, segmentation subtracts the refund.
type ReturnRecorded struct {
	InteractionID         string
	CustomerID            string
	PurchaseInteractionID string
	OrderID               string
	Refund                Money
	Lines                 []PurchaseLine
	OccurTime             time.Time
}

func (InteractionRecorded) isEvent() {}
func (PurchaseRecorded) isEvent()    {}
func (ReturnRecorded) isEvent()      {}

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
	if r := in.Return; r != nil {
		evs = append(evs, ReturnRecorded{
			InteractionID:         in.ID,
			CustomerID:            in.CustomerID,
			PurchaseInteractionID: r.PurchaseInteractionID,
			OrderID:               r.OrderID,
			Refund:                r.Refund,
			Lines:                 r.Lines,
			OccurTime:             in.OccurTime,
		})
	}
	return evs
}

// CaseResolved is emitted when a case is resolved: notification tells the
// customer and sends the satisfaction survey.
type CaseResolved struct {
	Case      Case
	SurveyURL string
	AgentID   string
}

// CaseSLABreached is emitted when a case misses an SLA target; the case
// is escalated to its team's manager.
type CaseSLABreached struct {
	Case   Case
	Target string
}

// Causes of an escalation, as CaseEscalated names them.
const (
	EscalationSLABreach = "sla_breach"
	EscalationManual    = "manual"
)

// CaseEscalated is emitted when a case is escalated, by an SLA breach
// (next to its CaseSLABreached) or by hand: notification tells the person
// it is escalated to (Case.EscalatedTo).
type CaseEscalated struct {
	Case Case
	// Previous is whom the case was escalated to before; "" the first time.
	Previous string
	// Cause is EscalationSLABreach or EscalationManual; Target names the
	// missed target of a breach, Reason and By the why and who of a manual
	// escalation.
	Cause  string
	Target string
	Reason string
	By     string
	At     time.Time
}

func (CaseResolved) isEvent()    {}
func (CaseSLABreached) isEvent() {}
func (CaseEscalated) isEvent()   {}
