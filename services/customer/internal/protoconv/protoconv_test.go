package protoconv_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// The converters cast enums by number, so the domain's enums must list the
// proto values in the same order; this test fails when one side changes
// alone.
func TestEnumsAlign(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		enum   protoreflect.EnumDescriptor
		prefix string
		name   func(n int) string
	}{
		{customerv1.CustomerType(0).Descriptor(), "CUSTOMER_TYPE_", func(n int) string { return domain.CustomerType(n).String() }},
		{customerv1.CustomerKind(0).Descriptor(), "CUSTOMER_KIND_", func(n int) string { return domain.Kind(n).String() }},
		{customerv1.LifecycleStage(0).Descriptor(), "LIFECYCLE_STAGE_", func(n int) string { return domain.Stage(n).String() }},
		{customerv1.ConsentChannel(0).Descriptor(), "CONSENT_CHANNEL_", func(n int) string { return domain.Channel(n).String() }},
		{customerv1.ConsentStatus(0).Descriptor(), "CONSENT_STATUS_", func(n int) string { return domain.ConsentStatus(n).String() }},
		{customerv1.AttributeType(0).Descriptor(), "ATTRIBUTE_TYPE_", func(n int) string { return domain.AttributeType(n).String() }},
		{customerv1.RelationshipType(0).Descriptor(), "RELATIONSHIP_TYPE_", func(n int) string { return domain.RelationshipType(n).String() }},
	} {
		values := tt.enum.Values()
		for i := range values.Len() {
			v := values.Get(i)
			want := strings.ToLower(strings.TrimPrefix(string(v.Name()), tt.prefix))
			if got := tt.name(int(v.Number())); got != want {
				t.Errorf("%s = %d is %q in the domain, want %q", v.Name(), v.Number(), got, want)
			}
		}
		if got := tt.name(values.Len()); !strings.Contains(got, "(") {
			t.Errorf("%s: the domain has a value %q past the proto's last", tt.enum.Name(), got)
		}
	}
}
