package domain

import (
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Field names one writable part of a customer profile. The names are the
// ones the API uses in update masks and that events list as changed.
// "attributes.<name>" names a single custom attribute.
type Field string

// The writable fields.
const (
	FieldType        Field = "type"
	FieldKind        Field = "kind"
	FieldStage       Field = "lifecycle_stage"
	FieldDisplayName Field = "display_name"
	FieldEmail       Field = "email"
	FieldPhone       Field = "phone"
	FieldOtherEmails Field = "other_emails"
	FieldOtherPhones Field = "other_phones"
	FieldLocale      Field = "locale"
	FieldTimeZone    Field = "time_zone"
	FieldTags        Field = "tags"
	FieldAddresses   Field = "addresses"
	FieldBirthday    Field = "birthday"
	FieldAttributes  Field = "attributes"
	FieldOwnerID     Field = "owner_id"
	FieldTeamID      Field = "team_id"
	FieldExternalID  Field = "external_id"
)

// Fields returns every top-level writable field in a stable order.
func Fields() []Field {
	return []Field{FieldType, FieldKind, FieldStage, FieldDisplayName, FieldEmail, FieldPhone,
		FieldOtherEmails, FieldOtherPhones, FieldLocale, FieldTimeZone, FieldTags, FieldAddresses,
		FieldBirthday, FieldAttributes, FieldOwnerID, FieldTeamID, FieldExternalID}
}

// ParseField returns the field named s, and false when there is none.
func ParseField(s string) (Field, bool) {
	f := Field(s)
	if slices.Contains(Fields(), f) {
		return f, true
	}
	if name, ok := f.Attribute(); ok && attributeNamePattern.MatchString(name) {
		return f, true
	}
	return "", false
}

// Attribute returns the attribute name of an "attributes.<name>" field.
func (f Field) Attribute() (string, bool) {
	return strings.CutPrefix(string(f), string(FieldAttributes)+".")
}

// copy writes f's value from src into dst. Both must own their slices and
// map (see Profile.clone), as the values are shared, not copied.
func (f Field) copy(dst *Profile, src Profile) {
	if name, ok := f.Attribute(); ok {
		val, set := src.Attributes[name]
		if !set {
			delete(dst.Attributes, name)
			return
		}
		if dst.Attributes == nil {
			dst.Attributes = map[string]AttributeValue{}
		}
		dst.Attributes[name] = val
		return
	}
	s := src
	switch f {
	case FieldType:
		dst.Type = s.Type
	case FieldKind:
		dst.Kind = s.Kind
	case FieldStage:
		dst.Stage = s.Stage
	case FieldDisplayName:
		dst.DisplayName = s.DisplayName
	case FieldEmail:
		dst.Email = s.Email
	case FieldPhone:
		dst.Phone = s.Phone
	case FieldOtherEmails:
		dst.OtherEmails = s.OtherEmails
	case FieldOtherPhones:
		dst.OtherPhones = s.OtherPhones
	case FieldLocale:
		dst.Locale = s.Locale
	case FieldTimeZone:
		dst.TimeZone = s.TimeZone
	case FieldTags:
		dst.Tags = s.Tags
	case FieldAddresses:
		dst.Addresses = s.Addresses
	case FieldBirthday:
		dst.Birthday = s.Birthday
	case FieldAttributes:
		dst.Attributes = s.Attributes
	case FieldOwnerID:
		dst.OwnerID = s.OwnerID
	case FieldTeamID:
		dst.TeamID = s.TeamID
	case FieldExternalID:
		dst.ExternalID = s.ExternalID
	}
}

// Diff returns the top-level fields in which two normalized profiles
// differ, in Fields order.
func Diff(a, b Profile) []Field {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []Field
	for _, f := range Fields() {
		var same bool
		switch f {
		case FieldAttributes:
			same = maps.Equal(a.Attributes, b.Attributes)
		case FieldBirthday:
			same = a.Birthday == nil && b.Birthday == nil ||
				a.Birthday != nil && b.Birthday != nil && *a.Birthday == *b.Birthday
		default:
			name := profileFieldNames[f]
			same = reflect.DeepEqual(va.FieldByName(name).Interface(), vb.FieldByName(name).Interface())
		}
		if !same {
			out = append(out, f)
		}
	}
	return out
}

// profileFieldNames maps API fields to Profile's Go field names, for Diff.
var profileFieldNames = map[Field]string{
	FieldType: "Type", FieldKind: "Kind", FieldStage: "Stage", FieldDisplayName: "DisplayName",
	FieldEmail: "Email", FieldPhone: "Phone", FieldOtherEmails: "OtherEmails", FieldOtherPhones: "OtherPhones",
	FieldLocale: "Locale", FieldTimeZone: "TimeZone", FieldTags: "Tags", FieldAddresses: "Addresses",
	FieldOwnerID: "OwnerID", FieldTeamID: "TeamID", FieldExternalID: "ExternalID",
}
