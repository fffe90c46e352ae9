// Command alpha runs the service.
package main

import (
	_ "example.com/crm/gateway" // want ruleOtherService
	_ "example.com/crm/services/alpha"
)

func main() {}
