package events_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/guanxi-crm/guanxi/platform/config"
	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
)

type serviceConfig struct {
	NATSURL string          `env:"NATS_URL"`
	NATS    events.NATSAuth `envPrefix:"NATS_"`
}

// TestNATSAuthFromEnvironment: a service's GUANXI_<NAME>_NATS_* variables
// fill its NATSAuth, and the start-up log masks the password and token.
func TestNATSAuthFromEnvironment(t *testing.T) {
	cfg, err := config.LoadFrom[serviceConfig]("GUANXI_X_", map[string]string{
		"GUANXI_X_NATS_URL":           "tls://nats:4222",
		"GUANXI_X_NATS_NKEY_FILE":     "/run/secrets/x.nk",
		"GUANXI_X_NATS_PASSWORD":      "hunter2",
		"GUANXI_X_NATS_TOKEN":         "s3cr3t",
		"GUANXI_X_NATS_INBOX_PREFIX":  "_INBOX.x",
		"GUANXI_X_NATS_TLS_CA_FILE":   "/etc/nats/ca.pem",
		"GUANXI_X_NATS_TLS_CERT_FILE": "/etc/nats/x.pem",
		"GUANXI_X_NATS_TLS_KEY_FILE":  "/etc/nats/x-key.pem",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := events.NATSAuth{NKeyFile: "/run/secrets/x.nk", Password: "hunter2", Token: "s3cr3t", InboxPrefix: "_INBOX.x"}
	want.TLS.CAFile, want.TLS.CertFile, want.TLS.KeyFile = "/etc/nats/ca.pem", "/etc/nats/x.pem", "/etc/nats/x-key.pem"
	if cfg.NATS != want {
		t.Errorf("NATS = %+v, want %+v", cfg.NATS, want)
	}
	logged := config.Attr(cfg).String()
	if strings.Contains(logged, "hunter2") || strings.Contains(logged, "s3cr3t") {
		t.Errorf("logged config shows a NATS secret: %s", logged)
	}
}

// TestNATSAuthOptions: the NKey seed file authenticates to a server that
// requires it; a missing seed file or a certificate without its key is an
// error before any connection is tried.
func TestNATSAuthOptions(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "svc.nk")
	key, err := natsembed.KeepSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsembed.Start(natsembed.Config{Dir: t.TempDir(), Port: -1,
		Users: []natsembed.User{natsembed.ServiceUser("svc", key, "svc.>")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})

	opts, err := events.NATSAuth{NKeyFile: seed, InboxPrefix: natsembed.InboxPrefix("svc")}.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, js, err := events.Connect(srv.ClientURL(), "svc", nil, opts...)
	if err != nil {
		t.Fatalf("connect with the seed: %v", err)
	}
	defer nc.Close()
	if err := events.EnsureStream(t.Context(), js, "SVC", "svc.>"); err != nil {
		t.Fatalf("ensure own stream through the inbox prefix: %v", err)
	}
	if _, _, err := events.Connect(srv.ClientURL(), "anonymous", nil, nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("anonymous connect: %v, want an authorization violation", err)
	}

	if _, err := (events.NATSAuth{NKeyFile: filepath.Join(dir, "missing.nk")}).Options(); err == nil {
		t.Error("a missing seed file: no error")
	}
	var half events.NATSAuth
	half.TLS.CertFile = "/etc/nats/x.pem"
	if _, err := half.Options(); err == nil {
		t.Error("a certificate without its key: no error")
	}
}
