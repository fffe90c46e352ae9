package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/devendpoints"
	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/suite"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/grpcclient"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	"github.com/guanxi-crm/guanxi/platform/version"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// TestHelpExitsZeroEverywhere: asking any command for its usage prints it
// and succeeds, as scripts and `make` expect of -h.
func TestHelpExitsZeroEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"help"}, {"--help"},
		{"dev", "-h"},
		{"customers", "-h"}, {"customers", "import", "-h"}, {"customers", "export", "-h"},
		{"keys", "-h"}, {"keys", "create", "-h"}, {"keys", "list", "-h"}, {"keys", "revoke", "-h"},
		{"bench", "-h"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Errorf("guanxi %s: %v, want success", strings.Join(args, " "), err)
		}
		if !strings.Contains(strings.ToLower(out.String()+errOut.String()), "usage") {
			t.Errorf("guanxi %s printed no usage: %q", strings.Join(args, " "), out.String()+errOut.String())
		}
	}
}

// TestVersion: `guanxi version` names the release set at build time.
func TestVersion(t *testing.T) {
	old := version.Version
	version.Version = "v9.8.7"
	t.Cleanup(func() { version.Version = old })
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "guanxi v9.8.7 ") {
		t.Errorf("guanxi version = %q, want it to start with %q", out.String(), "guanxi v9.8.7 ")
	}
}

// TestDevHelpNamesEveryServiceAndREADMEFlag: `guanxi dev -h` lists the six
// services and every flag the README's Running section says it takes.
func TestDevHelpNamesEveryServiceAndREADMEFlag(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sentence := regexp.MustCompile("(?s)`guanxi dev` \\(what `make run` runs.*?\\.\\s").Find(readme)
	if sentence == nil {
		t.Fatal("README has no sentence about guanxi dev's flags")
	}
	flags := regexp.MustCompile("`(-[a-z-]+)`").FindAllSubmatch(sentence, -1)
	if len(flags) < 6 {
		t.Fatalf("README names only %d flags of guanxi dev: %s", len(flags), sentence)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"dev", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	help := out.String() + errOut.String()
	for _, f := range flags {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(string(f[1])) + `\b`).MatchString(help) {
			t.Errorf("guanxi dev -h does not list %s, which the README names:\n%s", f[1], help)
		}
	}
	for _, s := range []string{"customer", "interaction", "loyalty", "segmentation", "notification", "access"} {
		if !strings.Contains(help, s) {
			t.Errorf("guanxi dev -h does not name the %s service:\n%s", s, help)
		}
	}
}

// TestClientCommandsFindTheRunningSuite: with the suite on ports other than
// the defaults, `guanxi customers export` and `guanxi keys list` reach it
// through the endpoints file of its data directory; GUANXI_CUSTOMER_ADDR
// overrides the file, and a stopped suite leaves no file behind.
func TestClientCommandsFindTheRunningSuite(t *testing.T) {
	for _, v := range []string{"GUANXI_CUSTOMER_ADDR", "GUANXI_ACCESS_ADDR", "GUANXI_TOKEN", "GUANXI_API_KEY"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan suite.Endpoints, 1)
	done := make(chan error, 1)
	go func() {
		done <- suite.Run(ctx, suite.Config{Host: "127.0.0.1", DataDir: dir}, slog.New(slog.DiscardHandler),
			func(e suite.Endpoints) { ready <- e })
	}()
	var e suite.Endpoints
	select {
	case e = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("suite failed to start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("suite not ready within 60s")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("suite stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("suite did not stop within 30s")
		}
	}
	t.Cleanup(stop)

	var customerAddr string
	for _, s := range e.Services {
		if s.Name == "customer" {
			customerAddr = s.Addr
		}
	}
	if customerAddr == devendpoints.DefaultAddrs["customer"] {
		t.Fatalf("the test suite took the default port %s; it must run on another", customerAddr)
	}
	conn, err := grpcclient.Dial(customerAddr, testinfra.CallAs(t, e.Auth, auth.Identity{Subject: "am-cli", Roles: []auth.Role{auth.Admin}}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := customerv1.NewCustomerServiceClient(conn).CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{DisplayName: "Ada Lovelace", Email: "ada@example.com"}}); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"customers", "export", "-data", dir}, &out, &errOut); err != nil {
		t.Fatalf("customers export: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Ada Lovelace") {
		t.Errorf("export printed %q, want the customer", out.String())
	}
	if !strings.Contains(errOut.String(), "Exported 1 customer to stdout") {
		t.Errorf("export said %q, want %q", errOut.String(), "Exported 1 customer to stdout")
	}

	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"keys", "list", "-data", dir}, &out, &errOut); err != nil {
		t.Fatalf("keys list: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "bootstrap admin of guanxi dev") {
		t.Errorf("keys list printed %q, want the bootstrap key", out.String())
	}

	// A variable beats the file: a closed port is then what is dialed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("GUANXI_CUSTOMER_ADDR", closed)
	errOut.Reset()
	err = run(ctx, []string{"customers", "export", "-data", dir}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), closed) || !strings.Contains(err.Error(), "$GUANXI_CUSTOMER_ADDR") {
		t.Errorf("export with GUANXI_CUSTOMER_ADDR=%s: %v, want it to name that address and the variable", closed, err)
	}

	stop()
	if _, err := os.Stat(filepath.Join(dir, devendpoints.FileName)); !os.IsNotExist(err) {
		t.Errorf("after the suite stopped, %s: %v, want it removed", devendpoints.FileName, err)
	}
}
