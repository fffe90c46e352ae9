// Package natsembed runs a NATS server with JetStream inside the process,
// for `guanxi dev` and for tests, so neither needs a NATS install. It
// listens on loopback only and, given Users, admits those NKey users only,
// each limited to the subjects it may publish and subscribe to.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server keeps its data and listens.
type Config struct {
	// Dir holds the JetStream file store.
	Dir string
	// Host defaults to 127.0.0.1 and must be a loopback address: the
	// embedded broker is for one machine, never reachable from the network.
	Host string
	// Port is the client port; -1 (or 0) picks a free one. nats-server
	// itself reads 0 as 4222, the standard port, which may belong to
	// another server on the machine, so 0 never means that here.
	Port int
	// Users, when not empty, are the only clients the server admits: a
	// client without one of their keys, or with a key not listed, is
	// refused. Empty admits anyone on loopback (tests).
	Users []User

	// Name is the server's name, unique in a cluster; it defaults to
	// "guanxi-embedded". A restarted cluster node must keep its name (and
	// Dir): its JetStream identity is derived from it.
	Name string
	// ClusterName, when set, makes the server a node of a JetStream
	// cluster of that name, listening for the other nodes on ClusterPort
	// (loopback, like the client port) and joining them at Routes
	// ("nats-route://127.0.0.1:port", one per node; its own is skipped).
	// PlanCluster fills these for an n-node cluster.
	ClusterName string
	ClusterPort int
	Routes      []string
	// SyncInterval is how often JetStream fsyncs its file store (the
	// server's sync_interval); 0 keeps the server's default, 2 minutes.
	// SyncAlways fsyncs every write before acknowledging it. Between
	// fsyncs, acknowledged messages live in the OS page cache: a process
	// crash loses nothing, a power loss of the machine may lose up to the
	// interval's writes (on a cluster, only if a quorum of nodes loses
	// power together).
	SyncInterval time.Duration
	SyncAlways   bool
}

// User is an NKey user of the embedded server and what it may do.
type User struct {
	// Name is for the log and errors only; NKey users are known by key.
	Name string
	// PublicKey is the user's public NKey ("U..."); the client proves it
	// holds the seed by signing the server's nonce (see KeepSeed).
	PublicKey string
	// Publish and Subscribe are the subjects (wildcards allowed) the user
	// may publish and subscribe to; nothing else is allowed.
	Publish   []string
	Subscribe []string
}

// Start starts the server and waits until it accepts clients. The caller
// stops it with Shutdown (and WaitForShutdown); srv.ClientURL() gives the
// URL clients connect to.
func Start(cfg Config, logger *slog.Logger) (*server.Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("start nats: Dir is required for the JetStream store")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if !IsLoopback(host) {
		return nil, fmt.Errorf("start nats: host %q is not a loopback address; the embedded NATS listens on this machine only (run a NATS server of your own to serve a network)", host)
	}
	users, err := nkeyUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := cfg.Name
	if name == "" {
		name = "guanxi-embedded"
	}
	opts := &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		// The host process owns signal handling and shutdown order.
		NoSigs: true,
		NoLog:  logger == nil,
		// nil admits every client; a list admits only its keys.
		Nkeys:        users,
		SyncInterval: cfg.SyncInterval,
		SyncAlways:   cfg.SyncAlways,
	}
	if cfg.ClusterName != "" {
		if cfg.ClusterPort <= 0 {
			return nil, fmt.Errorf("start nats %s: cluster %s needs a ClusterPort", name, cfg.ClusterName)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: cfg.ClusterPort}
		for _, r := range cfg.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("start nats %s: route %q: %w", name, r, err)
			}
			if !IsLoopback(u.Hostname()) {
				return nil, fmt.Errorf("start nats %s: route %q is not on a loopback address", name, r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if logger != nil {
		srv.SetLoggerV2(slogAdapter{logger.With(slog.String("component", "nats-server"))}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("start nats: server not ready for connections after 10s")
	}
	return srv, nil
}

// IsLoopback reports whether host (a name or an IP address, no port) is
// this machine only: "localhost" or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// nkeyUsers are the server's users for users, with their permissions.
func nkeyUsers(users []User) ([]*server.NkeyUser, error) {
	var out []*server.NkeyUser
	for _, u := range users {
		if !strings.HasPrefix(u.PublicKey, "U") {
			return nil, fmt.Errorf("start nats: user %s: %q is not an NKey user's public key", u.Name, u.PublicKey)
		}
		out = append(out, &server.NkeyUser{
			Nkey: u.PublicKey,
			// An empty allow list would allow everything: deny all
			// instead for a user given no subjects.
			Permissions: &server.Permissions{
				Publish:   subjectPermission(u.Publish),
				Subscribe: subjectPermission(u.Subscribe),
			},
		})
	}
	return out, nil
}

func subjectPermission(allow []string) *server.SubjectPermission {
	if len(allow) == 0 {
		return &server.SubjectPermission{Deny: []string{">"}}
	}
	return &server.SubjectPermission{Allow: allow}
}

// slogAdapter sends nats-server's printf-style log lines to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
