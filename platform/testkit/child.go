package testkit

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"testing"
)

// Child is the test binary running again as its own OS process, for tests
// that signal or kill a real process: the binary's TestMain sees the
// variable the child was started with and runs a service instead of the
// tests.
type Child struct {
	Cmd *exec.Cmd
	// Exited is closed once the process has exited; Err is then Wait's.
	Exited chan struct{}
	Err    error
	out    bytes.Buffer
}

// StartChild starts the test binary with env added to this process's
// environment and no test to run. The child is killed when the test ends,
// if it still runs, and its output logged if the test failed.
func StartChild(t testing.TB, env ...string) *Child {
	t.Helper()
	c := &Child{Cmd: exec.Command(os.Args[0], "-test.run=^$"), Exited: make(chan struct{})}
	c.Cmd.Env = append(os.Environ(), env...)
	c.Cmd.Stdout, c.Cmd.Stderr = &c.out, &c.out // exec writes to one writer from one goroutine
	if err := c.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.Err = c.Cmd.Wait(); close(c.Exited) }()
	t.Cleanup(func() {
		select {
		case <-c.Exited:
		default:
			_ = c.Cmd.Process.Kill()
			<-c.Exited
		}
		if t.Failed() {
			t.Logf("child %v output:\n%s", env, c.out.String())
		}
	})
	return c
}

// FreeAddr returns a loopback address nothing listens on at the moment,
// for a child process to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	return lis.Addr().String()
}
