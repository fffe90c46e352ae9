// Package migrations holds the customer service's SQL schema as goose files,
// embedded so the binary migrates its database at start.
package migrations

import "embed"

// FS holds the goose SQL files, valid on SQLite and PostgreSQL; a version
// whose SQL differs between them has a NAME.postgres.sql and a
// NAME.sqlite.sql file, and one that only one of them needs has only that
// one's file.
//
//go:embed *.sql
var FS embed.FS
