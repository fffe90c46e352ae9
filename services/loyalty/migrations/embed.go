// Package migrations holds the loyalty service's SQL schema as goose
// migrations, embedded so the binary migrates its own database at start.
package migrations

import "embed"

// FS holds the goose SQL files.
//
//go:embed *.sql
var FS embed.FS
