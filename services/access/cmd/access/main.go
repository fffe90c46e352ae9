// Command access runs the access service on its own, configured by
// GUANXI_ACCESS_* and GUANXI_AUTH_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/access"
)

func main() {
	if err := process.Run("access", access.LoadConfig, access.Run); err != nil {
		fmt.Fprintln(os.Stderr, "access:", err)
		os.Exit(1)
	}
}
