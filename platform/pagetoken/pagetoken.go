// Package pagetoken makes the opaque page tokens of every guanxi List RPC
// (AIP-158), one way in every service.
//
// A token carries the service's cursor (an offset, the last key, a keyset
// position: whatever the service pages by) and a hash of the list request it
// was issued for, without page_token and page_size. A token replayed with
// another filter, order, query or parent does not match that hash and is
// refused, instead of silently paging through a different result. The hash
// is of the request's deterministic protobuf encoding, so two different
// requests never encode alike (no field joining that a separator inside a
// value could fool). page_size may change between pages, as AIP-158 allows.
//
// The token's inside is private to the issuing service and may change
// between releases; clients only pass it back. It is a binding, not a
// secret: a client that forges one only pages its own request.
package pagetoken

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrInvalid is returned by Decode for a token this service did not issue
// for a request like this one. Ports answer it with InvalidArgument on the
// page_token field.
var ErrInvalid = errors.New("page token was not issued for this request")

// version starts every token so a later format can refuse older ones.
const version byte = 1

// hashSize is how many bytes of the request hash a token keeps: enough that
// a token for another request never matches by chance.
const hashSize = 16

// Encode returns the token for the page after cursor, bound to req, a list
// request with a page_token field. cursor is marshalled as JSON, so it is a
// value or a struct of exported fields.
func Encode(req proto.Message, cursor any) string {
	body, err := json.Marshal(cursor)
	if err != nil {
		// A cursor is an offset, a key or a small struct of them; one that
		// cannot marshal is a bug in the calling service.
		panic("pagetoken: cursor does not marshal: " + err.Error())
	}
	raw := make([]byte, 0, 1+hashSize+len(body))
	raw = append(raw, version)
	raw = append(raw, bind(req)...)
	raw = append(raw, body...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Decode reads req's page_token into cursor. It returns false with no error
// when the token is empty (the first page), and ErrInvalid when the token is
// malformed or was issued for a request with other parameters.
func Decode(req proto.Message, cursor any) (bool, error) {
	token := pageToken(req)
	if token == "" {
		return false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+hashSize || raw[0] != version {
		return false, ErrInvalid
	}
	if !bytes.Equal(raw[1:1+hashSize], bind(req)) {
		return false, ErrInvalid
	}
	dec := json.NewDecoder(bytes.NewReader(raw[1+hashSize:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cursor); err != nil || dec.More() {
		return false, ErrInvalid
	}
	return true, nil
}

// bind hashes req without its page_token and page_size fields.
func bind(req proto.Message) []byte {
	m := proto.Clone(req)
	r := m.ProtoReflect()
	for _, name := range []protoreflect.Name{"page_token", "page_size"} {
		if fd := r.Descriptor().Fields().ByName(name); fd != nil {
			r.Clear(fd)
		}
	}
	// Deterministic marshalling orders map entries, so equal requests hash
	// alike; the wire format's tags and lengths keep different ones apart.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		// A request that arrived over gRPC or the gateway has marshalled
		// already; hash its type name alone rather than fail the call, so
		// the token stays bound to at least the RPC.
		b = nil
	}
	h := sha256.New()
	h.Write([]byte(r.Descriptor().FullName()))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil)[:hashSize]
}

// pageToken returns req's page_token field, or "" when it has none.
func pageToken(req proto.Message) string {
	r := req.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("page_token")
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return r.Get(fd).String()
}

// Next returns the token for the page after cursor, or "" when cursor is ""
// (there is no next page): for services whose use cases page by a cursor
// string of their own.
func Next(req proto.Message, cursor string) string {
	if cursor == "" {
		return ""
	}
	return Encode(req, cursor)
}
