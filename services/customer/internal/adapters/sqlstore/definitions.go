package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/guanxi-crm/guanxi/platform/sqldb"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

func definitions(ctx context.Context, q querier) (domain.Definitions, error) {
	defs, err := sqldb.QueryAll(ctx, q, scanDefinition, `SELECT name, type, display_name, description, enum_values, create_time, update_time
		FROM attribute_definitions`)
	if err != nil {
		return nil, fmt.Errorf("read attribute definitions: %w", err)
	}
	out := make(domain.Definitions, len(defs))
	for _, d := range defs {
		out[d.Name] = d
	}
	return out, nil
}

func scanDefinition(s sqldb.Scanner) (domain.AttributeDefinition, error) {
	var (
		d                domain.AttributeDefinition
		typ, values      string
		created, updated int64
	)
	if err := s.Scan(&d.Name, &typ, &d.DisplayName, &d.Description, &values, &created, &updated); err != nil {
		return d, err
	}
	var ok bool
	if d.Type, ok = domain.ParseAttributeType(typ); !ok {
		return d, fmt.Errorf("attribute %s has unknown type %q", d.Name, typ)
	}
	if err := json.Unmarshal([]byte(values), &d.EnumValues); err != nil {
		return d, fmt.Errorf("attribute %s enum values: %w", d.Name, err)
	}
	d.CreateTime, d.UpdateTime = sqldb.FromMicros(created), sqldb.FromMicros(updated)
	return d, nil
}

func (t *storeTx) CreateDefinition(ctx context.Context, d domain.AttributeDefinition) error {
	values, err := json.Marshal(nonNil(d.EnumValues))
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO attribute_definitions
		(name, type, display_name, description, enum_values, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.Name, d.Type.String(), d.DisplayName, d.Description, string(values),
		sqldb.Micros(d.CreateTime), sqldb.Micros(d.UpdateTime))
	if sqldb.IsUniqueViolation(err) {
		return &domain.ConflictError{Reason: "attribute " + d.Name + " is already declared"}
	}
	if err != nil {
		return fmt.Errorf("create attribute definition: %w", err)
	}
	return nil
}

func (t *storeTx) UpdateDefinition(ctx context.Context, d domain.AttributeDefinition) error {
	values, err := json.Marshal(nonNil(d.EnumValues))
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `UPDATE attribute_definitions SET display_name = ?, description = ?,
		enum_values = ?, update_time = ? WHERE name = ?`,
		d.DisplayName, d.Description, string(values), sqldb.Micros(d.UpdateTime), d.Name); err != nil {
		return fmt.Errorf("update attribute definition: %w", err)
	}
	return nil
}

func (t *storeTx) DeleteDefinition(ctx context.Context, name string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM attribute_definitions WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete attribute definition: %w", err)
	}
	return nil
}

func (t *storeTx) AttributeInUse(ctx context.Context, def domain.AttributeDefinition, values []string) (bool, error) {
	d := docSQL{t.dialect}
	has, args := d.hasAttribute(def)
	query := `SELECT 1 FROM customers WHERE state NOT IN ('erased', 'merged') AND ` + has
	if len(values) > 0 {
		query += ` AND ` + d.attributeValue(def.Name, def.Type) + ` IN (` + placeholders(len(values)) + `)`
		args = append(args, anys(values)...)
	}
	rows, err := t.tx.Query(ctx, query+` LIMIT 1`, args...)
	if err != nil {
		return false, fmt.Errorf("attribute in use: %w", err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
