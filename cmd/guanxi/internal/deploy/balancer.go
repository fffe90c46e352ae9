package deploy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer is a TCP load balancer on a loopback port, as a Kubernetes
// Service or an L4 balancer stands in front of a service's replicas: each
// connection goes to the next backend that accepts it. A gRPC client keeps
// its connection (and so its replica) until the replica dies, then
// reconnects through the balancer to one that lives.
type Balancer struct {
	name     string
	l        net.Listener
	mu       sync.Mutex
	backends []string
	next     atomic.Uint64
	conns    sync.WaitGroup
	closed   atomic.Bool
}

// NewBalancer listens on a free loopback port; it refuses connections
// until SetBackends names some.
func NewBalancer(name string) (*Balancer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Balancer{name: name, l: l}
	go b.serve()
	return b, nil
}

// Addr is the balancer's address.
func (b *Balancer) Addr() string { return b.l.Addr().String() }

// SetBackends replaces the backends.
func (b *Balancer) SetBackends(addrs []string) {
	b.mu.Lock()
	b.backends = append([]string(nil), addrs...)
	b.mu.Unlock()
}

// Close stops accepting; open connections end with their backends.
func (b *Balancer) Close() {
	b.closed.Store(true)
	_ = b.l.Close()
}

func (b *Balancer) serve() {
	for {
		c, err := b.l.Accept()
		if err != nil {
			if b.closed.Load() {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go b.forward(c)
	}
}

func (b *Balancer) forward(c net.Conn) {
	b.mu.Lock()
	backends := b.backends
	b.mu.Unlock()
	start := b.next.Add(1)
	var up net.Conn
	for i := range backends {
		addr := backends[(int(start)+i)%len(backends)]
		var err error
		if up, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			break
		}
	}
	if up == nil {
		_ = c.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	// One side ended: end both, as a dead backend's connection resets.
	_ = c.Close()
	_ = up.Close()
	<-done
}
