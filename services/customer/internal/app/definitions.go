package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// CreateAttributeDefinition declares a custom attribute.
func (a *Service) CreateAttributeDefinition(ctx context.Context, d domain.AttributeDefinition) (domain.AttributeDefinition, error) {
	d, err := d.Normalize()
	if err != nil {
		return domain.AttributeDefinition{}, err
	}
	d.CreateTime = a.clock()
	d.UpdateTime = d.CreateTime
	err = a.store.InTx(ctx, func(tx domain.Tx) error {
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		if len(defs) >= domain.MaxAttributeDefinitions {
			return &domain.PreconditionError{Reason: fmt.Sprintf("at most %d attributes may be declared", domain.MaxAttributeDefinitions)}
		}
		if err := tx.CreateDefinition(ctx, d); err != nil {
			return err
		}
		return tx.Audit(ctx, a.auditEntry(ctx, "CreateAttributeDefinition", "", "", d.Name))
	})
	return d, wrap("create attribute definition", err)
}

// ListAttributeDefinitions returns every declared attribute by name.
func (a *Service) ListAttributeDefinitions(ctx context.Context) ([]domain.AttributeDefinition, error) {
	defs, err := a.store.Definitions(ctx)
	if err != nil {
		return nil, wrap("list attribute definitions", err)
	}
	out := make([]domain.AttributeDefinition, 0, len(defs))
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		out = append(out, defs[name])
	}
	return out, nil
}

// DefinitionChange is the input of UpdateAttributeDefinition: the fields
// named in Fields ("display_name", "description", "enum_values") take the
// values of Values.
type DefinitionChange struct {
	Values domain.AttributeDefinition
	Fields []string
}

// UpdateAttributeDefinition changes an attribute's labels or enum values;
// enum values customers still carry cannot be removed.
func (a *Service) UpdateAttributeDefinition(ctx context.Context, ch DefinitionChange) (domain.AttributeDefinition, error) {
	var out domain.AttributeDefinition
	err := a.store.InTx(ctx, func(tx domain.Tx) error {
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		cur, ok := defs[ch.Values.Name]
		if !ok {
			return &domain.NotFoundError{What: "attribute definition", ID: ch.Values.Name}
		}
		next := cur
		for _, f := range ch.Fields {
			switch f {
			case "display_name":
				next.DisplayName = ch.Values.DisplayName
			case "description":
				next.Description = ch.Values.Description
			case "enum_values":
				next.EnumValues = ch.Values.EnumValues
			case "type":
				if ch.Values.Type != cur.Type && ch.Values.Type != domain.AttrUnspecified {
					return validation.Violations{{Field: "type", Description: "cannot change once declared; declare a new attribute instead"}}.Err()
				}
			default:
				return validation.Violations{{Field: "update_mask", Description: fmt.Sprintf("%q cannot be changed; only display_name, description and enum_values can", f)}}.Err()
			}
		}
		if next, err = next.Normalize(); err != nil {
			return err
		}
		var removed []string
		for _, v := range cur.EnumValues {
			if !slices.Contains(next.EnumValues, v) {
				removed = append(removed, v)
			}
		}
		if len(removed) > 0 {
			used, err := tx.AttributeInUse(ctx, cur, removed)
			if err != nil {
				return err
			}
			if used {
				return &domain.PreconditionError{Reason: "customers still carry " + cur.Name + " = one of " + strings.Join(removed, ", ")}
			}
		}
		next.UpdateTime = a.clock()
		out = next
		if err := tx.UpdateDefinition(ctx, next); err != nil {
			return err
		}
		return tx.Audit(ctx, a.auditEntry(ctx, "UpdateAttributeDefinition", "", "", next.Name))
	})
	return out, wrap("update attribute definition", err)
}

// DeleteAttributeDefinition removes an attribute no customer carries.
func (a *Service) DeleteAttributeDefinition(ctx context.Context, name string) error {
	return wrap("delete attribute definition", a.store.InTx(ctx, func(tx domain.Tx) error {
		defs, err := tx.Definitions(ctx)
		if err != nil {
			return err
		}
		def, ok := defs[name]
		if !ok {
			return &domain.NotFoundError{What: "attribute definition", ID: name}
		}
		used, err := tx.AttributeInUse(ctx, def, nil)
		if err != nil {
			return err
		}
		if used {
			return &domain.PreconditionError{Reason: "customers still carry attribute " + name + "; remove it from them first"}
		}
		if err := tx.DeleteDefinition(ctx, name); err != nil {
			return err
		}
		return tx.Audit(ctx, a.auditEntry(ctx, "DeleteAttributeDefinition", "", "", name))
	}))
}
