// Package migrations holds the interaction service's SQL schema as goose
// migrations, valid on both SQLite and PostgreSQL.
package migrations

import "embed"

// FS holds the migration files, applied at start by sqldb.Migrate.
//
//go:embed *.sql
var FS embed.FS
