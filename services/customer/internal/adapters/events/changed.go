package events

import (
	"google.golang.org/protobuf/proto"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// ChangedCustomers returns the customers an event of this service on
// subject says changed, for the customer caches of the other replicas;
// none for a payload that does not decode.
func ChangedCustomers(subject string, payload []byte) []string {
	decode := func(m proto.Message) bool { return proto.Unmarshal(payload, m) == nil }
	switch subject {
	case customerv1.SubjectCustomerCreated:
		var ev customerv1.CustomerCreated
		if decode(&ev) {
			return nonEmpty(ev.GetCustomer().GetId())
		}
	case customerv1.SubjectCustomerUpdated:
		var ev customerv1.CustomerUpdated
		if decode(&ev) {
			return nonEmpty(ev.GetCustomer().GetId())
		}
	case customerv1.SubjectCustomerUndeleted:
		var ev customerv1.CustomerUndeleted
		if decode(&ev) {
			return nonEmpty(ev.GetCustomer().GetId())
		}
	case customerv1.SubjectCustomerDeleted:
		var ev customerv1.CustomerDeleted
		if decode(&ev) {
			return nonEmpty(ev.GetCustomerId())
		}
	case customerv1.SubjectCustomerErased:
		var ev customerv1.CustomerErased
		if decode(&ev) {
			return nonEmpty(ev.GetCustomerId())
		}
	case customerv1.SubjectCustomerMerged:
		var ev customerv1.CustomerMerged
		if decode(&ev) {
			return nonEmpty(ev.GetMergedCustomerId(), ev.GetSurvivorCustomerId())
		}
	case customerv1.SubjectConsentChanged:
		var ev customerv1.ConsentChanged
		if decode(&ev) {
			return nonEmpty(ev.GetCustomerId())
		}
	case customerv1.SubjectOwnershipChanged:
		var ev customerv1.OwnershipChanged
		if decode(&ev) {
			return nonEmpty(ev.GetChange().GetCustomerId())
		}
	}
	return nil
}

func nonEmpty(ids ...string) []string {
	out := ids[:0]
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}
