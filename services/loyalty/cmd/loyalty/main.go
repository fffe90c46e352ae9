// Command loyalty runs the loyalty service on its own, configured by
// GUANXI_LOYALTY_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/loyalty"
)

func main() {
	if err := process.Run("loyalty", loyalty.LoadConfig, loyalty.Run); err != nil {
		fmt.Fprintln(os.Stderr, "loyalty:", err)
		os.Exit(1)
	}
}
