package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

// RunNATSNode is `guanxi nats-node CONFIG.json`: one node of the
// deployment's NATS cluster (a natsembed.Config as JSON, written by
// Start), run until the process is stopped or killed.
func RunNATSNode(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: guanxi nats-node CONFIG.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var cfg natsembed.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("nats node config %s: %w", args[0], err)
	}
	logger := logging.New(stderr, cfg.Name, slog.LevelWarn)
	srv, err := natsembed.Start(cfg, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil
}
