package customerv1

// The JetStream stream and subjects of the customer service's events
// (DESIGN.md section 6). Payloads are the messages of events.proto.
const (
	// Stream holds every customer event.
	Stream = "CUSTOMER"
	// StreamSubjects is the subject filter of Stream.
	StreamSubjects = "customer.>"
	// SubjectCustomerCreated carries CustomerCreated.
	SubjectCustomerCreated = "customer.customer.created"
	// SubjectCustomerUpdated carries CustomerUpdated.
	SubjectCustomerUpdated = "customer.customer.updated"
)
