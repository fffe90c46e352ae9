package sqlstore_test

import (
	_ "example.com/crm/services/alpha/internal/adapters/events"
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore"
	_ "example.com/crm/services/alpha/internal/app"
)
