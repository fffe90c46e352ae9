// Package migrations holds the notification service's database schema as
// goose SQL files, embedded so the binary migrates its own database.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
