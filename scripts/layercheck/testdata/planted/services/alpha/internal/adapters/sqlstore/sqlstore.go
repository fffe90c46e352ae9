// Package sqlstore is the SQL adapter.
package sqlstore

import (
	_ "database/sql"
	_ "example.com/crm/platform/store"
	_ "example.com/crm/services/alpha/internal/adapters/events" // want ruleAdapterAdapter
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore/dialect"
	_ "example.com/crm/services/alpha/internal/app" // want ruleAdapterApp
	_ "example.com/crm/services/alpha/internal/domain"
	_ "example.com/crm/services/alpha/internal/model"      // want ruleUnknownLayer
	_ "example.com/crm/services/alpha/internal/ports/grpc" // want ruleAdapterPort
	_ "example.com/crm/services/alpha/internal/protoconv"
	_ "example.com/crm/services/alpha/migrations"
)
