// Command notification runs the notification service on its own, configured by
// GUANXI_NOTIFICATION_* environment variables.
package main

import (
	"fmt"
	"os"

	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/services/notification"
)

func main() {
	if err := process.Run("notification", notification.LoadConfig, notification.Run); err != nil {
		fmt.Fprintln(os.Stderr, "notification:", err)
		os.Exit(1)
	}
}
