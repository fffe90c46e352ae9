// Package wrap reaches SQL only through another platform package.
package wrap

import "example.com/crm/platform/store"

// DB is a database.
type DB = store.DB
