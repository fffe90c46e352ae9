package ignored

import _ "example.com/crm/services/alpha/internal/app"
