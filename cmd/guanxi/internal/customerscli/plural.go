package customerscli

import "fmt"

// plural is one when n is 1, else many: "1 customer", "2 customers".
func plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// count is n followed by the word for n of them.
func count[N ~int | ~int64](n N, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}
