package domain

import "slices"

// Field names one writable attribute of a customer. The names are the ones
// the API uses in update masks and that events list as changed.
type Field string

// The writable fields.
const (
	FieldType        Field = "type"
	FieldDisplayName Field = "display_name"
	FieldEmail       Field = "email"
	FieldPhone       Field = "phone"
	FieldLocale      Field = "locale"
	FieldTimeZone    Field = "time_zone"
	FieldTags        Field = "tags"
)

// Fields returns every writable field in a stable order.
func Fields() []Field {
	return []Field{FieldType, FieldDisplayName, FieldEmail, FieldPhone, FieldLocale, FieldTimeZone, FieldTags}
}

// ParseField returns the field named s, and false when there is none.
func ParseField(s string) (Field, bool) {
	f := Field(s)
	if slices.Contains(Fields(), f) {
		return f, true
	}
	return "", false
}

// copy writes f's value from src into dst.
func (f Field) copy(dst *Profile, src Profile) {
	switch f {
	case FieldType:
		dst.Type = src.Type
	case FieldDisplayName:
		dst.DisplayName = src.DisplayName
	case FieldEmail:
		dst.Email = src.Email
	case FieldPhone:
		dst.Phone = src.Phone
	case FieldLocale:
		dst.Locale = src.Locale
	case FieldTimeZone:
		dst.TimeZone = src.TimeZone
	case FieldTags:
		dst.Tags = append([]string(nil), src.Tags...)
	}
}

// equal reports whether a and b agree on f.
func (f Field) equal(a, b Profile) bool {
	switch f {
	case FieldType:
		return a.Type == b.Type
	case FieldDisplayName:
		return a.DisplayName == b.DisplayName
	case FieldEmail:
		return a.Email == b.Email
	case FieldPhone:
		return a.Phone == b.Phone
	case FieldLocale:
		return a.Locale == b.Locale
	case FieldTimeZone:
		return a.TimeZone == b.TimeZone
	case FieldTags:
		return slices.Equal(a.Tags, b.Tags)
	}
	return true
}
