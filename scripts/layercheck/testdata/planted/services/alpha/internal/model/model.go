// Package model is in no layer.
package model

import _ "example.com/crm/services/alpha/internal/adapters/sqlstore"
