// Package store stands for a platform package that opens SQL databases.
package store

import "database/sql"

// DB is a database.
type DB = sql.DB
