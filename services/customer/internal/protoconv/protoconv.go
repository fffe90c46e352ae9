// Package protoconv turns domain customers into their proto form, which the
// gRPC API and the events (CustomerCreated, CustomerUpdated) share.
package protoconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// ToProtoCustomer is the proto form of c.
func ToProtoCustomer(c domain.Customer) *customerv1.Customer {
	return &customerv1.Customer{
		Id:          c.ID,
		Type:        ToProtoType(c.Type),
		DisplayName: c.DisplayName,
		Email:       c.Email,
		Phone:       c.Phone,
		Locale:      c.Locale,
		TimeZone:    c.TimeZone,
		Tags:        c.Tags,
		CreateTime:  timestamppb.New(c.CreateTime),
		UpdateTime:  timestamppb.New(c.UpdateTime),
		Etag:        c.Etag(),
	}
}

// ToProtoType is the proto form of t.
func ToProtoType(t domain.CustomerType) customerv1.CustomerType {
	switch t {
	case domain.TypePerson:
		return customerv1.CustomerType_CUSTOMER_TYPE_PERSON
	case domain.TypeOrganization:
		return customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION
	}
	return customerv1.CustomerType_CUSTOMER_TYPE_UNSPECIFIED
}
