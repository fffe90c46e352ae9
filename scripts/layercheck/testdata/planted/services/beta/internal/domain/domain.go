// Package domain is a clean service's domain.
package domain

import _ "example.com/crm/platform/pure"
