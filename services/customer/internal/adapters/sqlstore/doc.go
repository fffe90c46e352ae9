package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// doc is the JSON form of the profile parts that live in customers.doc.
// Enums are stored by name so the column reads on its own and survives
// reordering of the Go constants.
type doc struct {
	OtherEmails []string           `json:"other_emails,omitempty"`
	OtherPhones []string           `json:"other_phones,omitempty"`
	Tags        []string           `json:"tags,omitempty"`
	Addresses   []domain.Address   `json:"addresses,omitempty"`
	Birthday    string             `json:"birthday,omitempty"`
	Attributes  map[string]docAttr `json:"attributes,omitempty"`
	Consents    []docConsent       `json:"consents,omitempty"`
	MergedIDs   []string           `json:"merged_ids,omitempty"`
}

type docAttr struct {
	Type string  `json:"type"`
	Str  string  `json:"s,omitempty"`
	Num  float64 `json:"n,omitempty"`
	Bool bool    `json:"b,omitempty"`
}

type docConsent struct {
	Channel string `json:"channel"`
	Status  string `json:"status"`
	Source  string `json:"source"`
	Time    int64  `json:"time"`
}

func encodeDoc(c domain.Customer) (string, error) {
	d := doc{
		OtherEmails: c.OtherEmails, OtherPhones: c.OtherPhones, Tags: c.Tags,
		Addresses: c.Addresses, MergedIDs: c.MergedIDs,
	}
	if c.Birthday != nil {
		d.Birthday = c.Birthday.String()
	}
	if len(c.Attributes) > 0 {
		d.Attributes = make(map[string]docAttr, len(c.Attributes))
		for name, v := range c.Attributes {
			a := docAttr{Type: v.Type.String(), Str: v.Str, Num: v.Num, Bool: v.Bool}
			if v.Type == domain.AttrDate {
				a.Str = v.Date.String()
			}
			d.Attributes[name] = a
		}
	}
	for _, cs := range c.Consents {
		d.Consents = append(d.Consents, docConsent{Channel: cs.Channel.String(), Status: cs.Status.String(),
			Source: cs.Source, Time: sqldb.Micros(cs.UpdateTime)})
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode customer %s: %w", c.ID, err)
	}
	return string(b), nil
}

func decodeDoc(raw string, c *domain.Customer) error {
	var d doc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return fmt.Errorf("decode customer %s: %w", c.ID, err)
	}
	c.OtherEmails, c.OtherPhones, c.Tags = d.OtherEmails, d.OtherPhones, d.Tags
	c.Addresses, c.MergedIDs = d.Addresses, d.MergedIDs
	if d.Birthday != "" {
		b, ok := domain.ParseDate(d.Birthday)
		if !ok {
			return fmt.Errorf("decode customer %s: bad birthday %q", c.ID, d.Birthday)
		}
		c.Birthday = &b
	}
	if len(d.Attributes) > 0 {
		c.Attributes = make(map[string]domain.AttributeValue, len(d.Attributes))
		for name, a := range d.Attributes {
			t, ok := domain.ParseAttributeType(a.Type)
			if !ok {
				return fmt.Errorf("decode customer %s: attribute %s has type %q", c.ID, name, a.Type)
			}
			v := domain.AttributeValue{Type: t, Str: a.Str, Num: a.Num, Bool: a.Bool}
			if t == domain.AttrDate {
				v.Str = ""
				if v.Date, ok = domain.ParseDate(a.Str); !ok {
					return fmt.Errorf("decode customer %s: attribute %s has date %q", c.ID, name, a.Str)
				}
			}
			c.Attributes[name] = v
		}
	}
	for _, dc := range d.Consents {
		ch, ok1 := domain.ParseChannel(dc.Channel)
		st, ok2 := domain.ParseConsentStatus(dc.Status)
		if !ok1 || !ok2 {
			return fmt.Errorf("decode customer %s: consent %s=%s", c.ID, dc.Channel, dc.Status)
		}
		c.Consents = append(c.Consents, domain.Consent{Channel: ch, Status: st, Source: dc.Source, UpdateTime: sqldb.FromMicros(dc.Time)})
	}
	return nil
}

// customerColumnList are read and written in this order by scanCustomer
// and customerRow.
var customerColumnList = []string{"id", "state", "type", "kind", "lifecycle_stage", "display_name", "email",
	"phone", "locale", "time_zone", "owner_id", "team_id", "external_id", "possible_duplicate", "merged_into",
	"name_key", "search_text", "doc", "version", "create_time", "update_time", "delete_time"}

// customerColumns is customerColumnList for SELECT statements.
var customerColumns = strings.Join(customerColumnList, ", ")

// customerRow returns c's column values in customerColumns order, and
// on PostgreSQL its facets after them (see writtenColumns).
func customerRow(c domain.Customer, dialect sqldb.Dialect) ([]any, error) {
	d, err := encodeDoc(c)
	if err != nil {
		return nil, err
	}
	row := []any{c.ID, c.State.String(), c.Type.String(), c.Kind.String(), c.Stage.String(),
		c.DisplayName, c.Email, c.Phone, c.Locale, c.TimeZone, c.OwnerID, c.TeamID,
		nullString(c.ExternalID), boolInt(c.PossibleDuplicate), nullString(c.MergedInto),
		domain.NameKey(c.DisplayName), c.SearchText(), d, c.Version,
		sqldb.Micros(c.CreateTime), sqldb.Micros(c.UpdateTime), nullTime(c.DeleteTime)}
	if dialect == sqldb.Postgres {
		row = append(row, facets(c))
	}
	return row, nil
}

// writtenColumns are the columns customerRow fills. PostgreSQL also
// stores the facets its filters find through an index; SQLite filters read
// the document.
func writtenColumns(dialect sqldb.Dialect) []string {
	cols := customerColumnList[:len(customerColumnList):len(customerColumnList)]
	if dialect == sqldb.Postgres {
		cols = append(cols, "facets")
	}
	return cols
}

// facets are the values of c that filters look up by equality, as the
// entries of the GIN index on customers.facets (PostgreSQL): its tags and
// its text-like attribute values. Numbers and booleans are left out, as
// are bare attribute types: numbers are compared by range, which the index
// cannot answer, and booleans and types match most customers, so they made
// the index large and slow to write while no plan would use them.
func facets(c domain.Customer) []string {
	out := make([]string, 0, len(c.Tags)+len(c.Attributes))
	for _, t := range c.Tags {
		out = append(out, tagFacet(t))
	}
	for name, v := range c.Attributes {
		if text := v.Text(); textLike(v.Type) && text != "" {
			out = append(out, attributeFacet(name, text))
		}
	}
	return out
}

func tagFacet(tag string) string { return "t:" + tag }

// attributeFacet is the facet of attribute name holding text. Names are
// lowercase letters, digits and underscores, so "=" ends the name.
func attributeFacet(name, text string) string { return "a:" + name + "=" + text }

// textLike reports whether values of t are indexed as facets.
func textLike(t domain.AttributeType) bool {
	return t == domain.AttrString || t == domain.AttrEnum || t == domain.AttrDate
}

func scanCustomer(s sqldb.Scanner) (domain.Customer, error) {
	var (
		c                           domain.Customer
		state, typ, kind, stage     string
		external, mergedInto        *string
		dup                         int
		nameKey, searchText, rawDoc string
		created, updated            int64
		deleted                     *int64
	)
	if err := s.Scan(&c.ID, &state, &typ, &kind, &stage, &c.DisplayName, &c.Email, &c.Phone,
		&c.Locale, &c.TimeZone, &c.OwnerID, &c.TeamID, &external, &dup, &mergedInto,
		&nameKey, &searchText, &rawDoc, &c.Version, &created, &updated, &deleted); err != nil {
		return domain.Customer{}, err
	}
	var ok [4]bool
	c.State, ok[0] = domain.ParseState(state)
	c.Type, ok[1] = domain.ParseType(typ)
	c.Kind, ok[2] = domain.ParseKind(kind)
	c.Stage, ok[3] = domain.ParseStage(stage)
	if ok != [4]bool{true, true, true, true} {
		return domain.Customer{}, fmt.Errorf("customer %s has unknown state/type/kind/stage %q/%q/%q/%q", c.ID, state, typ, kind, stage)
	}
	if external != nil {
		c.ExternalID = *external
	}
	if mergedInto != nil {
		c.MergedInto = *mergedInto
	}
	c.PossibleDuplicate = dup != 0
	c.CreateTime = sqldb.FromMicros(created)
	c.UpdateTime = sqldb.FromMicros(updated)
	if deleted != nil {
		c.DeleteTime = sqldb.FromMicros(*deleted)
	}
	return c, decodeDoc(rawDoc, &c)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqldb.Micros(t)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
