// Package textguard finds text in proto messages that no store can keep: a
// NUL character (U+0000). It is valid UTF-8 and so passes protobuf's own
// check, but PostgreSQL refuses it in text columns (a 500 after the work
// was done) while SQLite stores it, and no name, note or id a person types
// contains one. Every gRPC server refuses such requests (grpcserver), and
// the customer import refuses such rows, once for every field.
package textguard

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Description is what a field violation says of a field holding a NUL.
const Description = "must not contain a NUL character (U+0000)"

// NULFields returns the paths of the string fields of m (at any depth, in
// lists and maps too, map keys included) that hold a NUL, at most limit of
// them. Paths use the proto field names, as field violations do:
// "customer.display_name", "lines[2].sku", "attributes[\"city\"]".
func NULFields(m protoreflect.Message, limit int) []string {
	w := walker{limit: limit}
	w.path = w.buf[:0]
	w.message(m)
	return w.found
}

// step is one step of a path: a field, then an index or a map key.
type step struct {
	field  protoreflect.Name
	index  int // -1 for none
	key    protoreflect.MapKey
	hasKey bool
}

// walker walks a message keeping the path as steps, so that the path text
// is built only for a field that holds a NUL: a clean message (nearly
// every one) costs no allocation.
type walker struct {
	limit int
	path  []step
	buf   [8]step // path's first steps, without an allocation
	found []string
}

func (w *walker) done() bool { return len(w.found) >= w.limit }

func (w *walker) bad() {
	var b strings.Builder
	for i, s := range w.path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(string(s.field))
		switch {
		case s.hasKey:
			fmt.Fprintf(&b, "[%q]", s.key.String())
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	w.found = append(w.found, b.String())
}

func (w *walker) message(m protoreflect.Message) {
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		w.path = append(w.path, step{field: f.Name(), index: -1})
		switch {
		case f.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				w.path[len(w.path)-1].key, w.path[len(w.path)-1].hasKey = k, true
				if f.MapKey().Kind() == protoreflect.StringKind && hasNUL(k.String()) {
					w.bad()
				}
				if !w.done() {
					w.value(f.MapValue(), mv)
				}
				return !w.done()
			})
		case f.IsList():
			l := v.List()
			for i := 0; i < l.Len() && !w.done(); i++ {
				w.path[len(w.path)-1].index = i
				w.value(f, l.Get(i))
			}
		default:
			w.value(f, v)
		}
		w.path = w.path[:len(w.path)-1]
		return !w.done()
	})
}

// value checks one value of field f: a string, or a message to walk.
func (w *walker) value(f protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch f.Kind() {
	case protoreflect.StringKind:
		if hasNUL(v.String()) {
			w.bad()
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message())
	}
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
