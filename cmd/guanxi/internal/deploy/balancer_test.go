package deploy

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// echo serves name back on every connection, then closes it.
func echo(t *testing.T, name string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			_ = c.Close()
		}
	}()
	return l
}

func ask(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

// TestBalancerSpreadsAndSkipsDeadBackends: connections go to every
// backend in turn; with one backend gone, every connection reaches the
// other; with none, connections are closed.
func TestBalancerSpreadsAndSkipsDeadBackends(t *testing.T) {
	a, b := echo(t, "a"), echo(t, "b")
	lb, err := NewBalancer("test")
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	lb.SetBackends([]string{a.Addr().String(), b.Addr().String()})
	seen := map[string]int{}
	for range 10 {
		got, err := ask(t, lb.Addr())
		if err != nil {
			t.Fatal(err)
		}
		seen[got]++
	}
	if seen["a\n"] != 5 || seen["b\n"] != 5 {
		t.Fatalf("answers %v, want 5 from each backend", seen)
	}
	_ = a.Close() // a replica killed
	for range 6 {
		if got, err := ask(t, lb.Addr()); err != nil || got != "b\n" {
			t.Fatalf("with a gone: %q, %v; want b", got, err)
		}
	}
	_ = b.Close()
	if got, err := ask(t, lb.Addr()); err == nil && got != "" {
		t.Fatalf("with no backend: %q, want the connection closed", got)
	}
}
