// Package fieldmask reads the update masks of guanxi's Update RPCs.
package fieldmask

import (
	"strings"
	"unicode"
)

// ProtoName turns a mask path as REST clients send it in ?updateMask= (the
// JSON, lowerCamelCase name: "displayName", "tierWindowMonths") into the
// proto field name ("display_name"). A path already in proto form comes
// back as it is.
func ProtoName(path string) string {
	if strings.IndexFunc(path, unicode.IsUpper) < 0 {
		return path
	}
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ProtoNames is ProtoName of each path, in a new slice.
func ProtoNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = ProtoName(p)
	}
	return out
}
