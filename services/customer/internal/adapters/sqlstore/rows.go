package sqlstore

import (
	"context"
	"strings"
)

// maxParams keeps a multi-row statement under SQLite's limit of 32766 bound
// parameters (PostgreSQL allows 65535).
const maxParams = 30000

// insertRows inserts rows (each len(columns) values) with multi-row INSERT
// statements, as few as the parameter limit allows: one round trip per
// few thousand rows instead of one per row.
func insertRows(ctx context.Context, db execer, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	one := "(" + placeholders(width) + ")"
	for _, chunk := range chunks(rows, maxParams/width) {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		if _, err := db.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// chunks splits s into slices of at most size elements.
func chunks[T any](s []T, size int) [][]T {
	var out [][]T
	for len(s) > size {
		out = append(out, s[:size])
		s = s[size:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// anys converts strings to query arguments.
func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
