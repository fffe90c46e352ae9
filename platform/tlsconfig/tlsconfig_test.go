package tlsconfig_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/platform/grpcserver"
	"github.com/guanxi-crm/guanxi/platform/testkit"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// TestMutualTLS: a gRPC server with the deployment's files answers a client
// with them, and refuses a client without a certificate, one whose
// certificate another CA signed, and one in plaintext.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	files := testkit.PKI(t, t.TempDir())
	serverOpts, err := files.ServerOptions()
	if err != nil || len(serverOpts) == 0 {
		t.Fatalf("server options = %v, %v", serverOpts, err)
	}
	srv := grpcserver.New(slog.New(slog.DiscardHandler), serverOpts...) // serves health checks
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Background(t, func(ctx context.Context) error { return srv.Serve(ctx, lis) })

	check := func(opts []grpc.DialOption) error {
		conn, err := grpc.NewClient(lis.Addr().String(), opts...)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	dial, err := files.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(dial); err != nil {
		t.Fatalf("client with the deployment's certificate: %v", err)
	}
	noCert, err := tlsconfig.Files{CAFile: files.CAFile}.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(noCert); err == nil {
		t.Fatal("a client without a certificate got an answer")
	}
	other := testkit.PKI(t, t.TempDir()) // another CA and a certificate it signed
	foreign, err := tlsconfig.Files{CertFile: other.CertFile, KeyFile: other.KeyFile, CAFile: files.CAFile}.DialOptions()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(foreign); err == nil {
		t.Fatal("a client whose certificate another CA signed got an answer")
	}
	if err := check([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}); err == nil {
		t.Fatal("a plaintext client got an answer")
	}
}

// TestHTTPEdgeTLS: the REST edge's configuration serves TLS without asking
// callers for a certificate.
func TestHTTPEdgeTLS(t *testing.T) {
	t.Parallel()
	files := testkit.PKI(t, t.TempDir())
	cfg, err := files.Server(false)
	if err != nil || cfg == nil || cfg.ClientAuth != tls.NoClientCert {
		t.Fatalf("edge config = %v, %v", cfg, err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.ServeTLS(lis, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	verify, err := tlsconfig.Files{CAFile: files.CAFile}.Client()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: verify}}
	resp, err := client.Get("https://" + lis.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestLoad: without files everything is plaintext; a certificate without
// its key is refused.
func TestLoad(t *testing.T) {
	t.Setenv("GUANXI_TLS_CERT_FILE", "")
	t.Setenv("GUANXI_TLS_KEY_FILE", "")
	t.Setenv("GUANXI_TLS_CA_FILE", "")
	f, err := tlsconfig.Load()
	if err != nil {
		t.Fatal(err)
	}
	if opts, err := f.ServerOptions(); err != nil || opts != nil {
		t.Fatalf("plaintext server options = %v, %v", opts, err)
	}
	if opts, err := f.DialOptions(); err != nil || opts != nil {
		t.Fatalf("plaintext dial options = %v, %v", opts, err)
	}
	t.Setenv("GUANXI_TLS_CERT_FILE", "/etc/guanxi/cert.pem")
	if _, err := tlsconfig.Load(); err == nil {
		t.Fatal("a certificate without its key loaded")
	}
}
