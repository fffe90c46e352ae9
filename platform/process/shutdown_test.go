package process_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/lifecycle"
	"github.com/guanxi-crm/guanxi/platform/process"
)

// childMode, in a child's environment, makes the test binary a process
// under process.Run: "serve" stops when its context ends, "hang" never.
const childMode = "GUANXI_TEST_PROCESS_CHILD"

func TestMain(m *testing.M) {
	mode := os.Getenv(childMode)
	if mode == "" {
		os.Exit(m.Run())
	}
	err := process.Run("child", func() (struct{}, error) { return struct{}{}, nil },
		func(ctx context.Context, _ struct{}, _ *slog.Logger) error {
			fmt.Println("ready")
			<-lifecycle.Stopping(ctx)
			fmt.Println("stopping")
			if mode == "hang" {
				select {}
			}
			<-ctx.Done()
			return nil
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child runs the test binary as a process in mode with the shutdown
// settings given, and returns it with its stdout's lines.
func child(t *testing.T, mode, drain, timeout string) (*exec.Cmd, <-chan string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childMode+"="+mode, "GUANXI_SHUTDOWN_DRAIN="+drain, "GUANXI_SHUTDOWN_TIMEOUT="+timeout)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return cmd, lines, &stderr
}

// await waits for a line of the child's stdout that contains want.
func await(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child ended before printing %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q from the child within 10s", want)
		}
	}
}

// TestSecondSignalCutsTheDrain: SIGTERM announces the stop to the service
// (lifecycle.Stopping) while its context lives on for the drain; a second
// SIGTERM ends the drain, and the process exits 0.
func TestSecondSignalCutsTheDrain(t *testing.T) {
	t.Parallel()
	cmd, lines, stderr := child(t, "serve", "1m", "10s")
	await(t, lines, "ready")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await(t, lines, "stopping")
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0 (stderr %s)", err, stderr.String())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("exited %s after the second signal, want at once", took)
	}
}

// TestStopPastTheTimeoutExits1: a service that does not return within
// GUANXI_SHUTDOWN_TIMEOUT of the drain's end makes the process exit 1,
// saying why, instead of hanging.
func TestStopPastTheTimeoutExits1(t *testing.T) {
	t.Parallel()
	cmd, lines, stderr := child(t, "hang", "0s", "300ms")
	await(t, lines, "ready")
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1", err)
	}
	if !strings.Contains(stderr.String(), "did not stop within 300ms") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("exited %s after SIGTERM, want about the 300ms timeout", took)
	}
}
