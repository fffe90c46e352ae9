package customer_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

func TestProfile(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		in := &customerv1.Customer{
			Type:           customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
			Kind:           customerv1.CustomerKind_CUSTOMER_KIND_STAKEHOLDER,
			LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK,
			DisplayName:    "陈美玲",
			Email:          "meiling@Example.CN",
			OtherEmails:    []string{"ml.chen@Work.example", " ml.chen@work.example ", "meiling@example.cn", ""},
			Phone:          "138 0013 8000",
			OtherPhones:    []string{"021-6212 3456", "+1 (415) 555-2671", "13800138000"},
			Addresses: []*customerv1.Address{
				{Label: " home ", Region: "浙江省", City: "杭州市", District: "西湖区", Lines: []string{" 文三路 100 号 ", "3 幢 201"}, PostalCode: "310012"},
				{Label: "office", CountryCode: "sg", City: "Singapore", Lines: []string{"1 Raffles Place"}},
			},
			Birthday:   &date.Date{Month: 2, Day: 29},
			Locale:     "zh-hans-cn",
			TimeZone:   "Asia/Hong_Kong",
			Tags:       []string{"媒体", "vip", "媒体"},
			ExternalId: "legacy-42",
		}
		want := &customerv1.Customer{
			Type:           customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
			Kind:           customerv1.CustomerKind_CUSTOMER_KIND_STAKEHOLDER,
			LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK,
			State:          customerv1.CustomerState_CUSTOMER_STATE_ACTIVE,
			DisplayName:    "陈美玲",
			Email:          "meiling@example.cn",
			OtherEmails:    []string{"ml.chen@work.example"},
			Phone:          "+8613800138000",
			OtherPhones:    []string{"+862162123456", "+14155552671"},
			Addresses: []*customerv1.Address{
				{Label: "home", CountryCode: "CN", Region: "浙江省", City: "杭州市", District: "西湖区", Lines: []string{"文三路 100 号", "3 幢 201"}, PostalCode: "310012"},
				{Label: "office", CountryCode: "SG", City: "Singapore", Lines: []string{"1 Raffles Place"}},
			},
			Birthday:   &date.Date{Month: 2, Day: 29},
			Locale:     "zh-Hans-CN",
			TimeZone:   "Asia/Hong_Kong",
			Tags:       []string{"媒体", "vip"},
			ExternalId: "legacy-42",
			OwnerId:    testActor,
		}
		c := h.create(t, in)
		ignore := protocmp.IgnoreFields(&customerv1.Customer{}, "id", "create_time", "update_time", "etag")
		if diff := cmp.Diff(want, c, protocmp.Transform(), ignore); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(c, h.get(t, c.GetId()), protocmp.Transform()); diff != "" {
			t.Errorf("read back (-created +read):\n%s", diff)
		}

		// Every kind and stage round-trips.
		for k := range customerv1.CustomerKind_name {
			for s := range customerv1.LifecycleStage_name {
				if k == 0 || s == 0 || (k+s)%3 != 0 {
					continue
				}
				got := h.create(t, &customerv1.Customer{DisplayName: fmt.Sprintf("kind %d stage %d", k, s),
					Kind: customerv1.CustomerKind(k), LifecycleStage: customerv1.LifecycleStage(s), Type: customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION})
				if got.GetKind() != customerv1.CustomerKind(k) || got.GetLifecycleStage() != customerv1.LifecycleStage(s) || got.GetType() != customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION {
					t.Errorf("created kind %v stage %v type %v", got.GetKind(), got.GetLifecycleStage(), got.GetType())
				}
			}
		}

		// Replacing repeated fields through the mask.
		up, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: c.GetId(), Etag: c.GetEtag(), OtherPhones: []string{"+852 6123 4567"},
				Addresses: nil, Birthday: &date.Date{Year: 1990, Month: 5, Day: 17}, LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_WON_BACK},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"other_phones", "addresses", "birthday", "lifecycleStage"}},
		})
		if err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		u := up.GetCustomer()
		if !slices.Equal(u.GetOtherPhones(), []string{"+85261234567"}) || len(u.GetAddresses()) != 0 ||
			u.GetBirthday().GetYear() != 1990 || u.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_WON_BACK ||
			u.GetEmail() != want.GetEmail() || !slices.Equal(u.GetOtherEmails(), want.GetOtherEmails()) {
			t.Errorf("updated = %v", u)
		}
	})
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		base := func(mod func(c *customerv1.Customer)) *customerv1.Customer {
			c := &customerv1.Customer{DisplayName: "校验"}
			mod(c)
			return c
		}
		many := make([]string, 51)
		for i := range many {
			many[i] = fmt.Sprintf("tag-%d", i)
		}
		for _, tc := range []struct {
			name  string
			c     *customerv1.Customer
			field string
		}{
			{"LongName", base(func(c *customerv1.Customer) { c.DisplayName = string(make([]rune, 201)) }), "customer.display_name"},
			{"EmailWithName", base(func(c *customerv1.Customer) { c.Email = "Wang <wang@example.cn>" }), "customer.email"},
			{"OtherEmail", base(func(c *customerv1.Customer) { c.OtherEmails = []string{"ok@example.cn", "nope"} }), "customer.other_emails[1]"},
			{"ShortPhone", base(func(c *customerv1.Customer) { c.Phone = "138 0013" }), "customer.phone"},
			{"LetterPhone", base(func(c *customerv1.Customer) { c.Phone = "call me" }), "customer.phone"},
			{"OtherPhone", base(func(c *customerv1.Customer) { c.OtherPhones = []string{"13800138000", "+86 12"} }), "customer.other_phones[1]"},
			{"Locale", base(func(c *customerv1.Customer) { c.Locale = "not a locale!" }), "customer.locale"},
			{"TimeZone", base(func(c *customerv1.Customer) { c.TimeZone = "Mars/Olympus_Mons" }), "customer.time_zone"},
			{"LocalTimeZone", base(func(c *customerv1.Customer) { c.TimeZone = "Local" }), "customer.time_zone"},
			{"EmptyTag", base(func(c *customerv1.Customer) { c.Tags = []string{"vip", " "} }), "customer.tags[1]"},
			{"TooManyTags", base(func(c *customerv1.Customer) { c.Tags = many }), "customer.tags"},
			{"Kind", base(func(c *customerv1.Customer) { c.Kind = 99 }), "customer.kind"},
			{"Stage", base(func(c *customerv1.Customer) { c.LifecycleStage = -1 }), "customer.lifecycle_stage"},
			{"Type", base(func(c *customerv1.Customer) { c.Type = 7 }), "customer.type"},
			{"Birthday", base(func(c *customerv1.Customer) { c.Birthday = &date.Date{Year: 2023, Month: 2, Day: 29} }), "customer.birthday"},
			{"AncientBirthday", base(func(c *customerv1.Customer) { c.Birthday = &date.Date{Year: 1800, Month: 1, Day: 1} }), "customer.birthday"},
			{"EmptyAddress", base(func(c *customerv1.Customer) { c.Addresses = []*customerv1.Address{{Label: "home"}} }), "customer.addresses[0].lines"},
			{"CountryCode", base(func(c *customerv1.Customer) {
				c.Addresses = []*customerv1.Address{{City: "杭州市"}, {CountryCode: "CHN", City: "杭州市"}}
			}), "customer.addresses[1].country_code"},
			{"LongOwner", base(func(c *customerv1.Customer) { c.OwnerId = string(make([]byte, 201)) }), "customer.owner_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{Customer: tc.c})
				wantViolation(t, err, tc.field)
			})
		}
		// Every violation is reported at once, not only the first.
		_, err := h.client.CreateCustomer(callCtx(t), &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{Email: "x", Phone: "y"},
		})
		for _, f := range []string{"customer.display_name", "customer.email", "customer.phone", "customer.owner_id"} {
			wantViolation(t, err, f)
		}
		if ids := h.listIDs(t, &customerv1.ListCustomersRequest{}); len(ids) != 0 {
			t.Errorf("refused customers were stored: %v", ids)
		}
	})
}

func strVal(s string) *customerv1.AttributeValue {
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_StringValue{StringValue: s}}
}

func numVal(f float64) *customerv1.AttributeValue {
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_NumberValue{NumberValue: f}}
}

func boolVal(b bool) *customerv1.AttributeValue {
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_BoolValue{BoolValue: b}}
}

func dateVal(y, m, d int32) *customerv1.AttributeValue {
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_DateValue{DateValue: &date.Date{Year: y, Month: m, Day: d}}}
}

func enumVal(s string) *customerv1.AttributeValue {
	return &customerv1.AttributeValue{Value: &customerv1.AttributeValue_EnumValue{EnumValue: s}}
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, h harness) {
		defs := []*customerv1.AttributeDefinition{
			{Name: "city", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING, DisplayName: " 城市 ", Description: "where they live"},
			{Name: "spend", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER, DisplayName: "年消费"},
			{Name: "married", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_BOOL},
			{Name: "anniversary", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_DATE},
			{Name: "level", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM, EnumValues: []string{"bronze", "silver", " gold", "silver"}},
		}
		for _, d := range defs {
			resp, err := h.client.CreateAttributeDefinition(as(t, "admin"), &customerv1.CreateAttributeDefinitionRequest{AttributeDefinition: d})
			if err != nil {
				t.Fatalf("CreateAttributeDefinition(%s): %v", d.GetName(), err)
			}
			if got := resp.GetAttributeDefinition(); got.GetName() != d.GetName() || got.GetType() != d.GetType() || got.GetCreateTime() == nil {
				t.Errorf("created definition %v", got)
			}
		}
		list, err := h.client.ListAttributeDefinitions(callCtx(t), &customerv1.ListAttributeDefinitionsRequest{})
		if err != nil {
			t.Fatalf("ListAttributeDefinitions: %v", err)
		}
		var names []string
		for _, d := range list.GetAttributeDefinitions() {
			names = append(names, d.GetName())
			switch d.GetName() {
			case "city":
				if d.GetDisplayName() != "城市" || d.GetDescription() != "where they live" {
					t.Errorf("city = %v", d)
				}
			case "level":
				if !slices.Equal(d.GetEnumValues(), []string{"bronze", "silver", "gold"}) {
					t.Errorf("level values %v", d.GetEnumValues())
				}
			}
		}
		if diff := cmp.Diff([]string{"anniversary", "city", "level", "married", "spend"}, names); diff != "" {
			t.Errorf("definitions by name (-want +got):\n%s", diff)
		}

		t.Run("BadDefinitions", func(t *testing.T) {
			for _, tc := range []struct {
				d     *customerv1.AttributeDefinition
				field string
			}{
				{&customerv1.AttributeDefinition{Name: "City", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING}, "attribute_definition.name"},
				{&customerv1.AttributeDefinition{Name: "1st", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING}, "attribute_definition.name"},
				{&customerv1.AttributeDefinition{Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING}, "attribute_definition.name"},
				{&customerv1.AttributeDefinition{Name: "hobby"}, "attribute_definition.type"},
				{&customerv1.AttributeDefinition{Name: "tier", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM}, "attribute_definition.enum_values"},
				{&customerv1.AttributeDefinition{Name: "nick", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING, EnumValues: []string{"a"}}, "attribute_definition.enum_values"},
			} {
				_, err := h.client.CreateAttributeDefinition(as(t, "admin"), &customerv1.CreateAttributeDefinitionRequest{AttributeDefinition: tc.d})
				wantViolation(t, err, tc.field)
			}
			_, err := h.client.CreateAttributeDefinition(as(t, "admin"), &customerv1.CreateAttributeDefinitionRequest{})
			wantViolation(t, err, "attribute_definition")
			_, err = h.client.CreateAttributeDefinition(as(t, "admin"), &customerv1.CreateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "city", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER}})
			wantCode(t, err, codes.AlreadyExists, "city")
		})

		attrs := map[string]*customerv1.AttributeValue{
			"city": strVal(" Hangzhou "), "spend": numVal(12800.5), "married": boolVal(true),
			"anniversary": dateVal(2015, 10, 1), "level": enumVal("gold"),
		}
		c := h.create(t, &customerv1.Customer{DisplayName: "属性客户", Attributes: attrs})
		wantAttrs := map[string]*customerv1.AttributeValue{
			"city": strVal("Hangzhou"), "spend": numVal(12800.5), "married": boolVal(true),
			"anniversary": dateVal(2015, 10, 1), "level": enumVal("gold"),
		}
		if diff := cmp.Diff(wantAttrs, c.GetAttributes(), protocmp.Transform()); diff != "" {
			t.Errorf("attributes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantAttrs, h.get(t, c.GetId()).GetAttributes(), protocmp.Transform()); diff != "" {
			t.Errorf("attributes read back (-want +got):\n%s", diff)
		}

		t.Run("BadValues", func(t *testing.T) {
			for name, v := range map[string]*customerv1.AttributeValue{
				"city":        numVal(1),
				"spend":       strVal("lots"),
				"married":     strVal("yes"),
				"anniversary": dateVal(2023, 2, 30),
				"level":       enumVal("platinum"),
				"nickname":    strVal("Xiao Wang"),
			} {
				_, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
					Customer: &customerv1.Customer{DisplayName: "bad " + name, Attributes: map[string]*customerv1.AttributeValue{name: v}},
				})
				wantViolation(t, err, "customer.attributes."+name)
			}
			// A date attribute needs its year.
			_, err := h.client.CreateCustomer(as(t, testActor), &customerv1.CreateCustomerRequest{
				Customer: &customerv1.Customer{DisplayName: "no year", Attributes: map[string]*customerv1.AttributeValue{"anniversary": dateVal(0, 10, 1)}},
			})
			wantViolation(t, err, "customer.attributes.anniversary")
		})

		// attributes.<name> in the mask changes one attribute; naming an
		// attribute the request leaves out removes it.
		up, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: c.GetId(), Etag: c.GetEtag(), Attributes: map[string]*customerv1.AttributeValue{
				"level": enumVal("silver"), "city": strVal("ignored, not in the mask")}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"attributes.level", "attributes.married"}},
		})
		if err != nil {
			t.Fatalf("UpdateCustomer attributes: %v", err)
		}
		want := map[string]*customerv1.AttributeValue{
			"city": strVal("Hangzhou"), "spend": numVal(12800.5), "anniversary": dateVal(2015, 10, 1), "level": enumVal("silver"),
		}
		if diff := cmp.Diff(want, up.GetCustomer().GetAttributes(), protocmp.Transform()); diff != "" {
			t.Errorf("attributes after a masked update (-want +got):\n%s", diff)
		}
		_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: c.GetId(), Attributes: map[string]*customerv1.AttributeValue{"level": enumVal("diamond")}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"attributes.level"}},
		})
		wantViolation(t, err, "customer.attributes.level")

		// Filters compare attributes by their type.
		for filter, wantN := range map[string]int{
			`attributes.spend > 10000`:              1,
			`attributes.spend < 10000`:              0,
			`attributes.level = "silver"`:           1,
			`attributes.city = "Hangzhou"`:          1,
			`attributes.married:*`:                  0,
			`attributes.anniversary:*`:              1,
			`attributes.city = "Guangzhou"`:         0,
			`attributes.level = "gold"`:             0,
			`attributes.spend >= 12800.5`:           1,
			`attributes.anniversary = "2015-10-01"`: 1,
		} {
			if got := len(h.listIDs(t, &customerv1.ListCustomersRequest{Filter: filter})); got != wantN {
				t.Errorf("filter %s: %d customers, want %d", filter, got, wantN)
			}
		}

		t.Run("UpdateDefinition", func(t *testing.T) {
			resp, err := h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "level", DisplayName: "会员等级", EnumValues: []string{"bronze", "silver", "gold", "platinum"}},
			})
			if err != nil {
				t.Fatalf("UpdateAttributeDefinition: %v", err)
			}
			if d := resp.GetAttributeDefinition(); d.GetDisplayName() != "会员等级" || len(d.GetEnumValues()) != 4 ||
				d.GetType() != customerv1.AttributeType_ATTRIBUTE_TYPE_ENUM || !d.GetUpdateTime().AsTime().After(d.GetCreateTime().AsTime()) {
				t.Errorf("updated definition %v", d)
			}
			// The new value is usable at once.
			if _, err := h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: c.GetId(), Attributes: map[string]*customerv1.AttributeValue{"level": enumVal("platinum")}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"attributes.level"}},
			}); err != nil {
				t.Fatalf("set the new enum value: %v", err)
			}
			// A value a customer carries cannot be removed.
			_, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "level", EnumValues: []string{"bronze", "silver", "gold"}},
				UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"enum_values"}},
			})
			wantCode(t, err, codes.FailedPrecondition, "platinum")
			// One no customer carries can.
			resp, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "level", EnumValues: []string{"silver", "gold", "platinum"}},
				UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"enumValues"}},
			})
			if err != nil || resp.GetAttributeDefinition().GetDisplayName() != "会员等级" {
				t.Errorf("remove an unused value: %v, %v", resp.GetAttributeDefinition(), err)
			}
			// The type never changes.
			_, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "spend", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_STRING},
				UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"type"}},
			})
			wantViolation(t, err, "attribute_definition.type")
			// Sending back the type it has, as a REST client echoing what it
			// read does, is no change.
			resp, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "spend", Type: customerv1.AttributeType_ATTRIBUTE_TYPE_NUMBER, Description: "total spend"},
				UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"type", "description", "createTime"}},
			})
			if err != nil || resp.GetAttributeDefinition().GetDescription() != "total spend" {
				t.Errorf("update echoing the type: %v, %v", resp.GetAttributeDefinition(), err)
			}
			_, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{Name: "hobby", DisplayName: "x"},
			})
			wantCode(t, err, codes.NotFound, "hobby")
			_, err = h.client.UpdateAttributeDefinition(as(t, "admin"), &customerv1.UpdateAttributeDefinitionRequest{
				AttributeDefinition: &customerv1.AttributeDefinition{DisplayName: "x"},
			})
			wantViolation(t, err, "attribute_definition.name")
		})

		t.Run("DeleteDefinition", func(t *testing.T) {
			_, err := h.client.DeleteAttributeDefinition(as(t, "admin"), &customerv1.DeleteAttributeDefinitionRequest{Name: "city"})
			wantCode(t, err, codes.FailedPrecondition, "city")
			if _, err := h.client.DeleteAttributeDefinition(as(t, "admin"), &customerv1.DeleteAttributeDefinitionRequest{Name: "married"}); err != nil {
				t.Fatalf("delete an attribute no customer carries: %v", err)
			}
			_, err = h.client.DeleteAttributeDefinition(as(t, "admin"), &customerv1.DeleteAttributeDefinitionRequest{Name: "married"})
			wantCode(t, err, codes.NotFound, "married")
			_, err = h.client.DeleteAttributeDefinition(as(t, "admin"), &customerv1.DeleteAttributeDefinitionRequest{})
			wantViolation(t, err, "name")
			// A deleted attribute can no longer be set or filtered on.
			_, err = h.client.UpdateCustomer(as(t, testActor), &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: c.GetId(), Attributes: map[string]*customerv1.AttributeValue{"married": boolVal(false)}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"attributes.married"}},
			})
			wantViolation(t, err, "customer.attributes.married")
			_, err = h.client.ListCustomers(callCtx(t), &customerv1.ListCustomersRequest{Filter: `attributes.married = true`})
			wantViolation(t, err, "filter")
		})
	})
}
