// Package pure stands for a platform package with no transport or storage.
package pure

import "strings"

// Upper upper-cases s.
func Upper(s string) string { return strings.ToUpper(s) }
