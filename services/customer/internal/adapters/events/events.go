// Package events turns the customer domain's events into their wire form,
// the messages of guanxi.customer.v1 events.proto on the CUSTOMER stream's
// subjects, for the store to write to the transactional outbox.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/events"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/internal/protoconv"
)

// Source is the Ce-Source of every event this service publishes.
const Source = "guanxi/customer"

// NewEncoder returns what gives the customer domain's events their wire form;
// the store (through platform/events.Transactor) writes them to the outbox.
func NewEncoder() events.ProtoEncoder[domain.Event] {
	return events.ProtoEncoder[domain.Event]{Source: Source, ToProto: toProtoEvent}
}

func toProtoEvent(ev domain.Event) (string, proto.Message, error) {
	switch e := ev.(type) {
	case domain.CustomerCreated:
		return customerv1.SubjectCustomerCreated, &customerv1.CustomerCreated{Customer: protoconv.ToProtoCustomer(e.Customer), Imported: e.Imported}, nil
	case domain.CustomerUpdated:
		changed := make([]string, len(e.ChangedFields))
		for i, f := range e.ChangedFields {
			changed[i] = string(f)
		}
		return customerv1.SubjectCustomerUpdated, &customerv1.CustomerUpdated{
			Customer: protoconv.ToProtoCustomer(e.Customer), ChangedFields: changed,
		}, nil
	case domain.CustomerDeleted:
		return customerv1.SubjectCustomerDeleted, &customerv1.CustomerDeleted{
			CustomerId: e.ID, DeleteTime: timestamppb.New(e.DeleteTime)}, nil
	case domain.CustomerUndeleted:
		return customerv1.SubjectCustomerUndeleted, &customerv1.CustomerUndeleted{Customer: protoconv.ToProtoCustomer(e.Customer)}, nil
	case domain.CustomerErased:
		return customerv1.SubjectCustomerErased, &customerv1.CustomerErased{
			CustomerId: e.ID, EraseTime: timestamppb.New(e.EraseTime)}, nil
	case domain.CustomerMerged:
		return customerv1.SubjectCustomerMerged, &customerv1.CustomerMerged{
			MergedCustomerId: e.MergedID, SurvivorCustomerId: e.Survivor.ID, Survivor: protoconv.ToProtoCustomer(e.Survivor)}, nil
	case domain.ConsentChanged:
		return customerv1.SubjectConsentChanged, &customerv1.ConsentChanged{
			CustomerId: e.ID, Consent: protoconv.ToProtoConsent(e.Consent)}, nil
	case domain.OwnershipChanged:
		return customerv1.SubjectOwnershipChanged, &customerv1.OwnershipChanged{Change: protoconv.ToProtoOwnershipChange(e.Change)}, nil
	}
	return "", nil, fmt.Errorf("encode event: unknown domain event %T", ev)
}
