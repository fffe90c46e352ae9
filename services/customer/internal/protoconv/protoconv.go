// Package protoconv converts between the customer domain and its proto
// form, which the gRPC API, the events and the import share.
package protoconv

import (
	"slices"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// ToProtoCustomer is the proto form of c.
func ToProtoCustomer(c domain.Customer) *customerv1.Customer {
	out := &customerv1.Customer{
		Id:                c.ID,
		Type:              customerv1.CustomerType(c.Type),
		Kind:              customerv1.CustomerKind(c.Kind),
		LifecycleStage:    customerv1.LifecycleStage(c.Stage),
		DisplayName:       c.DisplayName,
		Email:             c.Email,
		Phone:             c.Phone,
		OtherEmails:       c.OtherEmails,
		OtherPhones:       c.OtherPhones,
		Locale:            c.Locale,
		TimeZone:          c.TimeZone,
		Tags:              c.Tags,
		OwnerId:           c.OwnerID,
		TeamId:            c.TeamID,
		ExternalId:        c.ExternalID,
		PossibleDuplicate: c.PossibleDuplicate,
		MergedCustomerIds: c.MergedIDs,
		State:             toProtoState(c.State),
		CreateTime:        timestamppb.New(c.CreateTime),
		UpdateTime:        timestamppb.New(c.UpdateTime),
		Etag:              c.Etag(),
	}
	if !c.DeleteTime.IsZero() {
		out.DeleteTime = timestamppb.New(c.DeleteTime)
	}
	for _, a := range c.Addresses {
		out.Addresses = append(out.Addresses, &customerv1.Address{
			Label: a.Label, CountryCode: a.CountryCode, Region: a.Region, City: a.City,
			District: a.District, Lines: a.Lines, PostalCode: a.PostalCode,
		})
	}
	if c.Birthday != nil {
		out.Birthday = toProtoDate(*c.Birthday)
	}
	if len(c.Attributes) > 0 {
		out.Attributes = make(map[string]*customerv1.AttributeValue, len(c.Attributes))
		for name, v := range c.Attributes {
			out.Attributes[name] = ToProtoAttributeValue(v)
		}
	}
	for _, cs := range c.Consents {
		out.Consents = append(out.Consents, ToProtoConsent(cs))
	}
	return out
}

func toProtoState(s domain.State) customerv1.CustomerState {
	switch s {
	case domain.StateActive:
		return customerv1.CustomerState_CUSTOMER_STATE_ACTIVE
	case domain.StateDeleted:
		return customerv1.CustomerState_CUSTOMER_STATE_DELETED
	case domain.StateErased:
		return customerv1.CustomerState_CUSTOMER_STATE_ERASED
	}
	return customerv1.CustomerState_CUSTOMER_STATE_UNSPECIFIED
}

func toProtoDate(d domain.Date) *date.Date {
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

// ToProtoAttributeValue is the proto form of v.
func ToProtoAttributeValue(v domain.AttributeValue) *customerv1.AttributeValue {
	switch v.Type {
	case domain.AttrNumber:
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_NumberValue{NumberValue: v.Num}}
	case domain.AttrBool:
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_BoolValue{BoolValue: v.Bool}}
	case domain.AttrDate:
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_DateValue{DateValue: toProtoDate(v.Date)}}
	case domain.AttrEnum:
		return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_EnumValue{EnumValue: v.Str}}
	}
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_StringValue{StringValue: v.Str}}
}

// ToProtoConsent is the proto form of c.
func ToProtoConsent(c domain.Consent) *customerv1.Consent {
	return &customerv1.Consent{
		Channel: customerv1.ConsentChannel(c.Channel), Status: customerv1.ConsentStatus(c.Status),
		Source: c.Source, UpdateTime: timestamppb.New(c.UpdateTime),
	}
}

// ToProtoOwnershipChange is the proto form of c.
func ToProtoOwnershipChange(c domain.OwnershipChange) *customerv1.OwnershipChange {
	return &customerv1.OwnershipChange{
		CustomerId: c.CustomerID, FromOwnerId: c.FromOwner, FromTeamId: c.FromTeam,
		ToOwnerId: c.ToOwner, ToTeamId: c.ToTeam, Reason: c.Reason, Actor: c.Actor,
		ChangeTime: timestamppb.New(c.Time),
	}
}

// ToDomainProfile is the domain form of the writable parts of c. Enum
// numbers pass through unchecked; the domain's normalization rejects
// unknown ones with the field named.
func ToDomainProfile(c *customerv1.Customer) domain.Profile {
	p := domain.Profile{
		Type:        domain.CustomerType(c.GetType()),
		Kind:        domain.Kind(c.GetKind()),
		Stage:       domain.Stage(c.GetLifecycleStage()),
		DisplayName: c.GetDisplayName(),
		Email:       c.GetEmail(),
		Phone:       c.GetPhone(),
		OtherEmails: slices.Clone(c.GetOtherEmails()),
		OtherPhones: slices.Clone(c.GetOtherPhones()),
		Locale:      c.GetLocale(),
		TimeZone:    c.GetTimeZone(),
		Tags:        slices.Clone(c.GetTags()),
		OwnerID:     c.GetOwnerId(),
		TeamID:      c.GetTeamId(),
		ExternalID:  c.GetExternalId(),
	}
	for _, a := range c.GetAddresses() {
		p.Addresses = append(p.Addresses, domain.Address{
			Label: a.GetLabel(), CountryCode: a.GetCountryCode(), Region: a.GetRegion(), City: a.GetCity(),
			District: a.GetDistrict(), Lines: slices.Clone(a.GetLines()), PostalCode: a.GetPostalCode(),
		})
	}
	if b := c.GetBirthday(); b != nil {
		d := toDomainDate(b)
		p.Birthday = &d
	}
	if len(c.GetAttributes()) > 0 {
		p.Attributes = make(map[string]domain.AttributeValue, len(c.GetAttributes()))
		for name, v := range c.GetAttributes() {
			p.Attributes[name] = ToDomainAttributeValue(v)
		}
	}
	return p
}

func toDomainDate(d *date.Date) domain.Date {
	return domain.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

// ToDomainAttributeValue is the domain form of v; an empty value has no
// type, which normalization reports.
func ToDomainAttributeValue(v *customerv1.AttributeValue) domain.AttributeValue {
	switch x := v.GetValue().(type) {
	case *customerv1.AttributeValue_StringValue:
		return domain.AttributeValue{Type: domain.AttrString, Str: x.StringValue}
	case *customerv1.AttributeValue_NumberValue:
		return domain.AttributeValue{Type: domain.AttrNumber, Num: x.NumberValue}
	case *customerv1.AttributeValue_BoolValue:
		return domain.AttributeValue{Type: domain.AttrBool, Bool: x.BoolValue}
	case *customerv1.AttributeValue_DateValue:
		return domain.AttributeValue{Type: domain.AttrDate, Date: toDomainDate(x.DateValue)}
	case *customerv1.AttributeValue_EnumValue:
		return domain.AttributeValue{Type: domain.AttrEnum, Str: x.EnumValue}
	}
	return domain.AttributeValue{}
}

// ToProtoDefinition is the proto form of d.
func ToProtoDefinition(d domain.AttributeDefinition) *customerv1.AttributeDefinition {
	return &customerv1.AttributeDefinition{
		Name: d.Name, Type: customerv1.AttributeType(d.Type), DisplayName: d.DisplayName,
		Description: d.Description, EnumValues: d.EnumValues,
		CreateTime: timestamppb.New(d.CreateTime), UpdateTime: timestamppb.New(d.UpdateTime),
	}
}

// ToProtoRelationship is the proto form of r.
func ToProtoRelationship(r domain.Relationship) *customerv1.Relationship {
	return &customerv1.Relationship{
		Id: r.ID, FromCustomerId: r.FromID, ToCustomerId: r.ToID,
		Type: customerv1.RelationshipType(r.Type), Role: r.Role, CreateTime: timestamppb.New(r.CreateTime),
	}
}

// ToProtoAuditEntry is the proto form of e.
func ToProtoAuditEntry(e domain.AuditEntry) *customerv1.AuditEntry {
	return &customerv1.AuditEntry{
		Id: e.ID, Time: timestamppb.New(e.Time), Actor: e.Actor, Via: e.Via, Action: e.Action,
		CustomerId: e.CustomerID, Reason: e.Reason, Detail: e.Detail,
	}
}
