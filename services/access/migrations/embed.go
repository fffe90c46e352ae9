// Package migrations holds the access service's SQL schema as goose files,
// embedded so the binary migrates its own database at start.
package migrations

import "embed"

// FS holds the goose SQL files.
//
//go:embed *.sql
var FS embed.FS
