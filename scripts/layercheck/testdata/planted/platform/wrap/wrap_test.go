package wrap

import "net/http" // a test file of a platform package does not count

var _ = http.MethodGet
