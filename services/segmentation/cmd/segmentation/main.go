// Command segmentation runs the segmentation service on its own, configured by
// GUANXI_SEGMENTATION_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/segmentation"
)

func main() {
	if err := process.Run("segmentation", segmentation.LoadConfig, segmentation.Run); err != nil {
		fmt.Fprintln(os.Stderr, "segmentation:", err)
		os.Exit(1)
	}
}
