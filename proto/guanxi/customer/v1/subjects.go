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
	// SubjectCustomerDeleted carries CustomerDeleted.
	SubjectCustomerDeleted = "customer.customer.deleted"
	// SubjectCustomerUndeleted carries CustomerUndeleted.
	SubjectCustomerUndeleted = "customer.customer.undeleted"
	// SubjectCustomerErased carries CustomerErased.
	SubjectCustomerErased = "customer.customer.erased"
	// SubjectCustomerMerged carries CustomerMerged.
	SubjectCustomerMerged = "customer.customer.merged"
	// SubjectConsentChanged carries ConsentChanged.
	SubjectConsentChanged = "customer.consent.changed"
	// SubjectOwnershipChanged carries OwnershipChanged.
	SubjectOwnershipChanged = "customer.ownership.changed"
)
