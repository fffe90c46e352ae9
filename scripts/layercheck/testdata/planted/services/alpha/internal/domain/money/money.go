// Package money is part of the domain.
package money

import _ "example.com/crm/services/alpha/internal/adapters/events" // want ruleDomainLayer
