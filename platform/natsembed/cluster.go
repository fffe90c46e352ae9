package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// PlanCluster returns the configs of an n-node JetStream cluster named name
// on loopback: node i is "<name>-<i>", keeps its store in dir/<node name>,
// and has its own free client and cluster ports, fixed in the config so a
// restarted node comes back where its clients and peers look for it. base
// gives what every node shares (Users, SyncInterval, SyncAlways, Host);
// its Dir, Port, Name and cluster fields are ignored. Each config can be
// started with Start, in this process or another one (a node per OS
// process, as the chaos harness runs them).
func PlanCluster(name, dir string, n int, base Config) ([]Config, error) {
	if n < 1 {
		return nil, fmt.Errorf("plan nats cluster %s: %d nodes", name, n)
	}
	if dir == "" {
		return nil, fmt.Errorf("plan nats cluster %s: dir is required", name)
	}
	host := base.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ports, err := FreePorts(host, 2*n)
	if err != nil {
		return nil, fmt.Errorf("plan nats cluster %s: %w", name, err)
	}
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://%s:%d", hostPort(host), ports[n+i])
	}
	cfgs := make([]Config, n)
	for i := range n {
		c := base
		c.Name = fmt.Sprintf("%s-%d", name, i)
		c.Host = host
		c.Dir = filepath.Join(dir, c.Name)
		c.Port = ports[i]
		c.ClusterName = name
		c.ClusterPort = ports[n+i]
		c.Routes = append([]string(nil), routes...)
		cfgs[i] = c
	}
	return cfgs, nil
}

func hostPort(host string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return "[" + host + "]"
	}
	return host
}

// FreePorts returns n distinct TCP ports free on host right now (the
// kernel picks them; another process may take one before it is used,
// which the caller sees as a failed start).
func FreePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(strings.Trim(host, "[]"), "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Cluster is an n-node JetStream cluster running in this process, for
// tests: nodes can be stopped, started and restarted one at a time, each
// keeping its store dir and ports.
type Cluster struct {
	Name   string
	nodes  []*Node
	logger *slog.Logger
}

// Node is one node of a Cluster.
type Node struct {
	cfg    Config
	logger *slog.Logger
	mu     sync.Mutex
	srv    *server.Server
}

// StartCluster plans an n-node cluster (PlanCluster) under dir, starts
// every node and waits until JetStream has a meta leader, so streams can be
// created. logger may be nil (no server log).
func StartCluster(name, dir string, n int, base Config, logger *slog.Logger) (*Cluster, error) {
	cfgs, err := PlanCluster(name, dir, n, base)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, logger: logger}
	for _, cfg := range cfgs {
		c.nodes = append(c.nodes, &Node{cfg: cfg, logger: logger})
	}
	// Start the nodes together: each waits for its client port only, and
	// JetStream waits for the peers.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Go(func() { errs[i] = nd.Start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Shutdown()
		return nil, err
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// Nodes are the cluster's nodes, in plan order.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node is node i.
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// ClientURL is every node's client URL, comma-separated, as nats.Connect
// (and the services' NATS URL setting) take it: a client fails over among
// them.
func (c *Cluster) ClientURL() string {
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = nd.ClientURL()
	}
	return strings.Join(urls, ",")
}

// WaitReady waits until the running nodes agree on a JetStream meta leader.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		for _, nd := range c.nodes {
			if s := nd.Server(); s != nil && s.JetStreamIsLeader() {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats cluster %s: no JetStream meta leader after %s", c.Name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StreamLeader is the index of the running node that leads stream (in the
// global account, the one the services use), or -1 when none does now.
func (c *Cluster) StreamLeader(stream string) int {
	for i, nd := range c.nodes {
		if s := nd.Server(); s != nil && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Go(nd.Stop)
	}
	wg.Wait()
}

// Config is the node's config (its ports, name and store dir).
func (n *Node) Config() Config { return n.cfg }

// ClientURL is the node's client URL, also while it is stopped.
func (n *Node) ClientURL() string {
	return fmt.Sprintf("nats://%s:%d", hostPort(n.cfg.Host), n.cfg.Port)
}

// Server is the running server, nil while the node is stopped.
func (n *Node) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Start starts the node if it is stopped, with its store dir as it was.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	var logger *slog.Logger
	if n.logger != nil {
		logger = n.logger.With(slog.String("node", n.cfg.Name))
	}
	srv, err := Start(n.cfg, logger)
	if err != nil {
		return err
	}
	n.srv = srv
	return nil
}

// Stop shuts the node down (its clients see the connection drop, as when
// the process dies) and waits until it has; its store dir stays.
func (n *Node) Stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart stops the node and starts it again on the same ports and store.
func (n *Node) Restart() error {
	n.Stop()
	return n.Start()
}
