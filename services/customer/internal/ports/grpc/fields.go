package grpc

import (
	"fmt"
	"strings"

	"github.com/guanxi-crm/guanxi/platform/fieldmask"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// ignoredPaths are mask paths that name no writable field: identity, the
// concurrency token and output-only fields. A REST PATCH puts every body
// field in the mask, so a client sending back what it read must not fail
// on them (AIP-161).
var ignoredPaths = map[string]bool{
	"id": true, "etag": true, "create_time": true, "update_time": true, "consents": true,
	"possible_duplicate": true, "merged_customer_ids": true, "state": true, "delete_time": true,
}

// toDomainFields turns update mask paths into domain fields. An empty mask
// means every field set (non-zero) in c, as proto3 cannot tell an unset
// scalar from a zero one; "*" means every field, for full replacement
// (AIP-134). "attributes.<name>" updates one attribute; a path into a
// message field ("birthday.year") updates the whole field.
func toDomainFields(paths []string, c *customerv1.Customer) ([]domain.Field, error) {
	if len(paths) == 0 {
		var fields []domain.Field
		for _, f := range domain.Fields() {
			if isSet(f, c) {
				fields = append(fields, f)
			}
		}
		return fields, nil
	}
	var fields []domain.Field
	seen := map[domain.Field]bool{}
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "*" {
			return domain.Fields(), nil
		}
		if !strings.HasPrefix(p, "attributes.") {
			p, _, _ = strings.Cut(fieldmask.ProtoName(p), ".")
		}
		if ignoredPaths[p] {
			continue
		}
		f, ok := domain.ParseField(p)
		if !ok {
			return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{
				Field:       "update_mask",
				Description: fmt.Sprintf("unknown or read-only field %q", p),
			})
		}
		if !seen[f] {
			seen[f] = true
			fields = append(fields, f)
		}
	}
	return fields, nil
}

func isSet(f domain.Field, c *customerv1.Customer) bool {
	switch f {
	case domain.FieldType:
		return c.GetType() != 0
	case domain.FieldKind:
		return c.GetKind() != 0
	case domain.FieldStage:
		return c.GetLifecycleStage() != 0
	case domain.FieldDisplayName:
		return c.GetDisplayName() != ""
	case domain.FieldEmail:
		return c.GetEmail() != ""
	case domain.FieldPhone:
		return c.GetPhone() != ""
	case domain.FieldOtherEmails:
		return len(c.GetOtherEmails()) > 0
	case domain.FieldOtherPhones:
		return len(c.GetOtherPhones()) > 0
	case domain.FieldLocale:
		return c.GetLocale() != ""
	case domain.FieldTimeZone:
		return c.GetTimeZone() != ""
	case domain.FieldTags:
		return len(c.GetTags()) > 0
	case domain.FieldAddresses:
		return len(c.GetAddresses()) > 0
	case domain.FieldBirthday:
		return c.GetBirthday() != nil
	case domain.FieldAttributes:
		return len(c.GetAttributes()) > 0
	case domain.FieldOwnerID:
		return c.GetOwnerId() != ""
	case domain.FieldTeamID:
		return c.GetTeamId() != ""
	case domain.FieldExternalID:
		return c.GetExternalId() != ""
	}
	return false
}

func toDomainDefinition(d *customerv1.AttributeDefinition) domain.AttributeDefinition {
	return domain.AttributeDefinition{
		Name: d.GetName(), Type: domain.AttributeType(d.GetType()), DisplayName: d.GetDisplayName(),
		Description: d.GetDescription(), EnumValues: d.GetEnumValues(),
	}
}
