// Command customer runs the customer service on its own, configured by
// GUANXI_CUSTOMER_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/customer"
)

func main() {
	if err := process.Run("customer", customer.LoadConfig, customer.Run); err != nil {
		fmt.Fprintln(os.Stderr, "customer:", err)
		os.Exit(1)
	}
}
