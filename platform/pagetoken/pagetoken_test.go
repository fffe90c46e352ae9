package pagetoken_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/guanxi-crm/guanxi/platform/pagetoken"
)

// listRequest builds a message shaped like every guanxi list request:
// message ListThingsRequest { string parent = 1; int32 page_size = 2;
// string page_token = 3; string filter = 4; string order_by = 5; }
func listRequest(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	str, i32 := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, n int32, typ *descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ, Label: opt, JsonName: proto.String(name)}
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("pagetoken_test.proto"), Package: proto.String("test"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("ListThingsRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("parent", 1, str), field("page_size", 2, i32), field("page_token", 3, str),
				field("filter", 4, str), field("order_by", 5, str),
			},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().Get(0)
}

func newRequest(md protoreflect.MessageDescriptor, fields map[string]any) proto.Message {
	m := dynamicpb.NewMessage(md)
	for name, v := range fields {
		m.Set(md.Fields().ByName(protoreflect.Name(name)), protoreflect.ValueOf(v))
	}
	return m
}

func withToken(md protoreflect.MessageDescriptor, fields map[string]any, token string) proto.Message {
	m := newRequest(md, fields).(*dynamicpb.Message)
	m.Set(md.Fields().ByName("page_token"), protoreflect.ValueOfString(token))
	return m
}

type cursor struct {
	Micros int64  `json:"t"`
	ID     string `json:"i"`
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	md := listRequest(t)
	fields := map[string]any{"parent": "customers/1", "filter": `channel = "phone"`, "page_size": int32(10)}
	tok := pagetoken.Encode(newRequest(md, fields), cursor{Micros: 42, ID: "x"})
	// The next page may ask for another page size (AIP-158).
	fields["page_size"] = int32(50)
	var got cursor
	ok, err := pagetoken.Decode(withToken(md, fields, tok), &got)
	if err != nil || !ok || got != (cursor{Micros: 42, ID: "x"}) {
		t.Fatalf("Decode = %v, %v, %+v", ok, err, got)
	}
}

func TestEmptyTokenIsFirstPage(t *testing.T) {
	t.Parallel()
	var off int
	ok, err := pagetoken.Decode(newRequest(listRequest(t), nil), &off)
	if ok || err != nil {
		t.Fatalf("Decode(empty) = %v, %v", ok, err)
	}
}

// TestBoundToRequest: a token issued for one request is refused for a
// request with any other parameter, including ones a separator-joined
// fingerprint would confuse ("a|b" + "c" against "a" + "b|c").
func TestBoundToRequest(t *testing.T) {
	t.Parallel()
	md := listRequest(t)
	issued := map[string]any{"parent": "a|b", "filter": "c"}
	tok := pagetoken.Encode(newRequest(md, issued), 50)
	for name, other := range map[string]map[string]any{
		"other filter":     {"parent": "a|b", "filter": "d"},
		"shifted boundary": {"parent": "a", "filter": "b|c"},
		"added order":      {"parent": "a|b", "filter": "c", "order_by": "id"},
		"no parent":        {"filter": "c"},
	} {
		var off int
		if _, err := pagetoken.Decode(withToken(md, other, tok), &off); !errors.Is(err, pagetoken.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	md := listRequest(t)
	good := pagetoken.Encode(newRequest(md, nil), 7)
	for _, tok := range []string{"50", "not base64!", good[:len(good)-2], "AQ", good + "x"} {
		var off int
		if _, err := pagetoken.Decode(withToken(md, nil, tok), &off); !errors.Is(err, pagetoken.ErrInvalid) {
			t.Errorf("token %q: err = %v, want ErrInvalid", tok, err)
		}
	}
	// A cursor of another shape is refused too.
	var c cursor
	if _, err := pagetoken.Decode(withToken(md, nil, good), &c); !errors.Is(err, pagetoken.ErrInvalid) {
		t.Errorf("int token into struct cursor: err = %v", err)
	}
}
