// Package deploy runs guanxi as a production deployment does, on this
// machine: every service and the gateway as separate OS processes started
// from their binaries with their environment settings (docs/configuration.md),
// N replicas of each behind a TCP load balancer of its own, one fresh
// PostgreSQL database per service shared by its replicas, and a JetStream
// cluster of nats-server nodes, each an OS process too (`guanxi nats-node`).
// Replicas and nodes can be killed (SIGKILL) and started again. `guanxi
// chaos` and the clustered loyalty bench run on it.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

// Services are the gRPC services in the order they are started (each
// after those it calls), then the gateway.
var Services = []string{"access", "customer", "interaction", "loyalty", "segmentation", "notification"}

// Gateway is the REST edge's name in Spec.Replicas.
const Gateway = "gateway"

// Spec says what to run.
type Spec struct {
	// Dir keeps the binaries' logs, the NATS stores and the NKey seeds.
	Dir string
	// BinDir holds the binaries `make build` makes: guanxi, gateway and
	// one per service.
	BinDir string
	// Postgres is the server fresh databases are made on, one per
	// service (dropped by Close).
	Postgres string
	// Replicas of each service (and Gateway) to run; a name missing or 0
	// is not run. A service calling one that is not run gets its load
	// balancer's address all the same, which refuses connections.
	Replicas map[string]int
	// External names services run elsewhere (a stand-in of the caller's):
	// their load balancer forwards to the address given.
	External map[string]string
	// NATSNodes is the size of the JetStream cluster (1: a single server).
	NATSNodes int
	// Env is added to every process's environment (settings of the run,
	// e.g. GUANXI_LOYALTY_VIP_THRESHOLD).
	Env map[string]string
	// LogLevel of the processes (GUANXI_LOG_LEVEL); default warn.
	LogLevel string
	Logger   *slog.Logger
	// KeepDatabases leaves the databases for a look after Close.
	KeepDatabases bool
}

// Deployment is a running Spec.
type Deployment struct {
	spec       Spec
	Secret     string // GUANXI_AUTH_SECRET of every process
	NATS       []*Proc
	NATSURL    string // every node's client URL, comma-separated
	Services   map[string]*Service
	dbs        map[string]string
	drops      []func() error
	natsAuth   map[string]events.NATSAuth
	observer   events.NATSAuth
	logger     *slog.Logger
	mu         sync.Mutex
	closed     bool
	linkSecret string
}

// Service is a service's replicas and the load balancer in front of them.
type Service struct {
	Name     string
	Replicas []*Proc
	LB       *Balancer
}

// Addr is where the service is reached: its load balancer.
func (s *Service) Addr() string { return s.LB.Addr() }

// Start runs spec: the databases, the NATS nodes, then every service's
// replicas in order, each waited for until it serves.
func Start(ctx context.Context, spec Spec) (d *Deployment, err error) {
	if spec.LogLevel == "" {
		spec.LogLevel = "warn"
	}
	if spec.NATSNodes < 1 {
		spec.NATSNodes = 1
	}
	logger := spec.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, sub := range []string{"logs", "nats"} {
		if err := os.MkdirAll(filepath.Join(spec.Dir, sub), 0o750); err != nil {
			return nil, err
		}
	}
	d = &Deployment{spec: spec, Services: map[string]*Service{}, dbs: map[string]string{}, logger: logger,
		Secret: randomHex(32), linkSecret: randomHex(32)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	// Every load balancer first: services are told their peers' addresses.
	for _, name := range append(slices.Clone(Services), Gateway) {
		lb, err := NewBalancer(name)
		if err != nil {
			return d, err
		}
		d.Services[name] = &Service{Name: name, LB: lb}
	}
	for name, addr := range spec.External {
		if s, ok := d.Services[name]; ok {
			s.LB.SetBackends([]string{addr})
		}
	}
	for _, name := range Services {
		if spec.Replicas[name] == 0 {
			continue
		}
		url, drop, err := CreateDatabase(ctx, spec.Postgres, "guanxi_chaos_"+name+"_")
		if err != nil {
			return d, err
		}
		d.drops = append(d.drops, drop)
		d.dbs[name] = url
	}
	if err := d.startNATS(ctx); err != nil {
		return d, err
	}
	for _, name := range append(slices.Clone(Services), Gateway) {
		n := spec.Replicas[name]
		if n == 0 {
			continue
		}
		svc := d.Services[name]
		ports, err := natsembed.FreePorts("127.0.0.1", n)
		if err != nil {
			return d, err
		}
		for i := range n {
			p := &Proc{Name: fmt.Sprintf("%s-%d", name, i), Service: name, Addr: fmt.Sprintf("127.0.0.1:%d", ports[i]),
				logPath: filepath.Join(spec.Dir, "logs", fmt.Sprintf("%s-%d.log", name, i))}
			p.bin, p.env = d.command(name, p.Addr)
			svc.Replicas = append(svc.Replicas, p)
		}
		// The replicas of a service start together (their migrations
		// race, as on a rolling deploy).
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, p := range svc.Replicas {
			wg.Go(func() {
				if errs[i] = p.Start(); errs[i] == nil {
					errs[i] = p.WaitReady(ctx, 90*time.Second)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return d, err
		}
		svc.LB.SetBackends(svc.addrs())
		logger.Info("started", "service", name, "replicas", n)
	}
	return d, nil
}

func (s *Service) addrs() []string {
	out := make([]string, len(s.Replicas))
	for i, p := range s.Replicas {
		out[i] = p.Addr
	}
	return out
}

// DatabaseURL is the database of service name.
func (d *Deployment) DatabaseURL(name string) string { return d.dbs[name] }

// Token issues a token of identity for calling the deployment.
func (d *Deployment) Token(id auth.Identity) (string, error) {
	return auth.Issue(auth.Config{Secret: d.Secret}, id, 24*time.Hour)
}

// HTTPURL is the base URL of the REST edge (its load balancer).
func (d *Deployment) HTTPURL() string { return "http://" + d.Services[Gateway].Addr() }

// IntegrationNATS is how a call-center integration connects to NATS.
func (d *Deployment) IntegrationNATS() events.NATSAuth {
	return events.NATSAuth{NKeyFile: filepath.Join(d.spec.Dir, suite.NATSUsersDir, suite.IntegrationNATSUser+".nk"),
		InboxPrefix: natsembed.InboxPrefix(suite.IntegrationNATSUser)}
}

// ObserveNATS connects to the cluster as a user who may see everything,
// to read streams' and consumers' state.
func (d *Deployment) ObserveNATS() (*nats.Conn, error) {
	opts, err := d.observer.Options()
	if err != nil {
		return nil, err
	}
	return nats.Connect(d.NATSURL, append(opts, nats.MaxReconnects(-1))...)
}

// startNATS plans the cluster and starts each node as a `guanxi
// nats-node` process, then waits until they have a JetStream meta leader.
func (d *Deployment) startNATS(ctx context.Context) error {
	users, natsAuth, _, err := suite.NATSUsers(d.spec.Dir)
	if err != nil {
		return err
	}
	d.natsAuth = natsAuth
	// The observer reads the streams' and consumers' state (ObserveNATS).
	observerSeed := filepath.Join(d.spec.Dir, suite.NATSUsersDir, "observer.nk")
	key, err := natsembed.KeepSeed(observerSeed)
	if err != nil {
		return err
	}
	users = append(users, natsembed.User{Name: "observer", PublicKey: key, Publish: []string{">"}, Subscribe: []string{">"}})
	d.observer = events.NATSAuth{NKeyFile: observerSeed}
	base := natsembed.Config{Users: users}
	var cfgs []natsembed.Config
	if d.spec.NATSNodes == 1 {
		ports, err := natsembed.FreePorts("127.0.0.1", 1)
		if err != nil {
			return err
		}
		c := base
		c.Name, c.Host, c.Port, c.Dir = "nats-0", "127.0.0.1", ports[0], filepath.Join(d.spec.Dir, "nats", "nats-0")
		cfgs = append(cfgs, c)
	} else if cfgs, err = natsembed.PlanCluster("nats", filepath.Join(d.spec.Dir, "nats"), d.spec.NATSNodes, base); err != nil {
		return err
	}
	var urls []string
	for _, c := range cfgs {
		path := filepath.Join(d.spec.Dir, "nats", c.Name+".json")
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
		url := fmt.Sprintf("nats://127.0.0.1:%d", c.Port)
		urls = append(urls, url)
		d.NATS = append(d.NATS, &Proc{Name: c.Name, Service: "nats", Addr: fmt.Sprintf("127.0.0.1:%d", c.Port),
			bin: filepath.Join(d.spec.BinDir, "guanxi"), args: []string{"nats-node", path},
			logPath: filepath.Join(d.spec.Dir, "logs", c.Name+".log")})
	}
	d.NATSURL = strings.Join(urls, ",")
	for _, p := range d.NATS {
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, p := range d.NATS {
		if err := p.WaitReady(ctx, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// command is the binary and environment of a replica of name listening
// on addr.
func (d *Deployment) command(name, addr string) (string, map[string]string) {
	env := map[string]string{
		"GUANXI_AUTH_SECRET": d.Secret,
		"GUANXI_LOG_LEVEL":   d.spec.LogLevel,
	}
	lb := func(s string) string { return d.Services[s].Addr() }
	public := "http://" + lb(Gateway)
	if name == Gateway {
		env["GUANXI_GATEWAY_HTTP_ADDR"] = addr
		for _, s := range Services {
			env["GUANXI_GATEWAY_"+strings.ToUpper(s)+"_ADDR"] = lb(s)
		}
	} else {
		p := "GUANXI_" + strings.ToUpper(name) + "_"
		env[p+"GRPC_ADDR"] = addr
		env[p+"DATABASE_URL"] = d.dbs[name]
		if a, ok := d.natsAuth[name]; ok {
			env[p+"NATS_URL"] = d.NATSURL
			env[p+"NATS_NKEY_FILE"] = a.NKeyFile
			env[p+"NATS_INBOX_PREFIX"] = a.InboxPrefix
			// Streams on every node of a cluster of three or more (R3).
			env[p+"NATS_STREAM_REPLICAS"] = strconv.Itoa(min(d.spec.NATSNodes, 3))
		}
		if name != "customer" && name != "access" {
			env[p+"CUSTOMER_ADDR"] = lb("customer")
		}
		switch name {
		case "notification":
			env[p+"SEGMENTATION_ADDR"] = lb("segmentation")
			env[p+"PUBLIC_URL"] = public
			env[p+"UNSUBSCRIBE_SECRET"] = d.linkSecret
		case "interaction":
			env[p+"PUBLIC_URL"] = public
			env[p+"SURVEY_SECRET"] = d.linkSecret
		}
	}
	maps.Copy(env, d.spec.Env)
	return filepath.Join(d.spec.BinDir, name), env
}

// Close stops every process (SIGKILL: nothing of the run is kept) and the
// load balancers, and drops the databases.
func (d *Deployment) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	for _, s := range d.Services {
		for _, p := range s.Replicas {
			p.Kill()
		}
		s.LB.Close()
	}
	for _, p := range d.NATS {
		p.Kill()
	}
	if d.spec.KeepDatabases {
		for name, url := range d.dbs {
			d.logger.Warn("database kept", "service", name, "url", url)
		}
		return
	}
	for _, drop := range d.drops {
		if err := drop(); err != nil {
			d.logger.Warn("drop database", "error", err)
		}
	}
}

// Proc is one OS process of the deployment: a service replica, a gateway
// or a NATS node.
type Proc struct {
	Name    string // e.g. "loyalty-1", "nats-2"
	Service string // e.g. "loyalty", "nats"
	Addr    string // its own listen address
	bin     string
	args    []string
	env     map[string]string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts the process (again).
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is running", p.Name)
	}
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// The process dies with the harness, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Exited reports whether a started process has ended by itself.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	done := p.done
	running := p.cmd != nil
	p.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// WaitReady waits until the process answers: a service's gRPC health
// check SERVING, the gateway's /healthz, a NATS node's client port.
func (p *Proc) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited (see %s)", p.Name, p.logPath)
		}
		if p.ready(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (see %s)", p.Name, timeout, p.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *Proc) ready(ctx context.Context) bool {
	switch p.Service {
	case "nats":
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	case Gateway:
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	default:
		conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return false
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}
}

// PID is the process's id, 0 when it is not running.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// LogPath is the file the process writes its log to.
func (p *Proc) LogPath() string { return p.logPath }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
