// Package suitetls_test runs the suite with mutual TLS. It is a package of
// its own because a process reads its TLS files once (tlsconfig.Process):
// the suite tests beside it run in plaintext.
package suitetls_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// TestSuiteOverMutualTLS: with the TLS variables set, the REST edge answers
// over HTTPS, a purchase travels gateway -> interaction -> customer (each
// hop mutual TLS) into the customer's timeline, and a service refuses a
// plaintext client.
func TestSuiteOverMutualTLS(t *testing.T) {
	files := testinfra.PKI(t, t.TempDir())
	t.Setenv("GUANXI_TLS_CERT_FILE", files.CertFile)
	t.Setenv("GUANXI_TLS_KEY_FILE", files.KeyFile)
	t.Setenv("GUANXI_TLS_CA_FILE", files.CAFile)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan suite.Endpoints, 1)
	done := make(chan error, 1)
	go func() {
		done <- suite.Run(ctx, suite.Config{Host: "127.0.0.1", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler),
			func(e suite.Endpoints) { ready <- e })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("suite stopped with error: %v", err)
		}
	}()
	var e suite.Endpoints
	select {
	case e = <-ready:
	case err := <-done:
		t.Fatalf("suite failed to start over TLS: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("suite not ready within 60s")
	}
	if !strings.HasPrefix(e.HTTP, "https://") {
		t.Fatalf("REST edge at %s, want https", e.HTTP)
	}

	verify, err := tlsconfig.Files{CAFile: files.CAFile}.Client()
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: verify}}
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, e.HTTP+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.AdminToken) // the bootstrap admin
		resp, err := web.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return out
	}
	id := call("POST", "/v1/customers", `{"displayName":"TLS 客户"}`)["id"].(string)
	call("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",`+
		`"purchase":{"orderId":"TLS-1","total":{"currencyCode":"CNY","amountMinor":"5000"}}}`)
	timeline, _ := call("GET", "/v1/customers/"+id+"/interactions", "")["interactions"].([]any)
	if len(timeline) != 1 {
		t.Fatalf("timeline over TLS = %v", timeline)
	}

	for _, s := range e.Services {
		conn, err := grpcclient.Dial(s.Addr) // the process's files: mutual TLS
		if err != nil {
			t.Fatal(err)
		}
		if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Errorf("%s over mutual TLS: %v", s.Name, err)
		}
		conn.Close()
		plain, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		checkCtx, cancelCheck := context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := healthpb.NewHealthClient(plain).Check(checkCtx, &healthpb.HealthCheckRequest{}); err == nil {
			t.Errorf("%s answered a plaintext client", s.Name)
		}
		cancelCheck()
		plain.Close()
	}
}
