// Package migrations holds the customer service's SQL schema as goose files,
// embedded so the binary migrates its database at start.
package migrations

import "embed"

// FS holds the goose SQL files, valid on SQLite and PostgreSQL.
//
//go:embed *.sql
var FS embed.FS
