// Command interaction runs the interaction service on its own, configured by
// GUANXI_INTERACTION_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/interaction"
)

func main() {
	if err := process.Run("interaction", interaction.LoadConfig, interaction.Run); err != nil {
		fmt.Fprintln(os.Stderr, "interaction:", err)
		os.Exit(1)
	}
}
