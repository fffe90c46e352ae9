package servicehost_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

// envNATSNode, set to a natsembed.Config in JSON, makes the test binary a
// NATS node instead (see nodeProcess): a node of its own process can be
// killed with SIGKILL, as a crash or kill -9 does, which an embedded node
// cannot.
const envNATSNode = "GUANXI_TEST_NATS_NODE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(envNATSNode); cfg != "" {
		os.Exit(runNATSNode(cfg))
	}
	os.Exit(m.Run())
}

// runNATSNode runs the node until it is killed or its parent goes away
// (stdin closed).
func runNATSNode(js string) int {
	var cfg natsembed.Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv, err := natsembed.Start(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Shutdown()
	srv.WaitForShutdown()
	return 0
}
