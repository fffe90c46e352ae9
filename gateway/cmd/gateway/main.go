// Command gateway runs guanxi's REST edge in front of the five services,
// configured by GUANXI_GATEWAY_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/process"
)

func main() {
	if err := process.Run("gateway", gateway.LoadConfig, gateway.Run); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
