// Package migrations embeds the SQL migrations.
package migrations

import _ "embed"
