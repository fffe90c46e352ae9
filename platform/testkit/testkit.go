// Package testkit holds the test helpers that need no database and no NATS:
// the GUANXI_TEST_* variables and their skip/fail rule, waiting on
// conditions, running a loop for a test's life, tokens and TLS files. It
// lives in the platform module itself so that modules without a database or
// NATS (the gateway) can use it without requiring SQLite, goose or
// nats-server; platform/sqldb/sqltest adds databases and platform/testinfra
// everything, re-exporting these helpers.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// Environment variables read by the test helpers.
const (
	EnvPostgresURL  = "GUANXI_TEST_POSTGRES_URL"
	EnvNATSURL      = "GUANXI_TEST_NATS_URL"
	EnvRedisURL     = "GUANXI_TEST_REDIS_URL"
	EnvRequireInfra = "GUANXI_TEST_REQUIRE_INFRA"
)

// RequireInfra reports whether missing external servers fail tests
// (GUANXI_TEST_REQUIRE_INFRA=1, as in CI) instead of skipping them.
func RequireInfra() bool { return os.Getenv(EnvRequireInfra) == "1" }

// Getenv returns the variable's value, or skips (or fails, under
// RequireInfra) the test when it is unset; what names the server in the
// message.
func Getenv(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if RequireInfra() {
		t.Fatalf("%s: %s not set and %s=1", what, name, EnvRequireInfra)
	}
	t.Skipf("%s: %s not set, skipping", what, name)
	return ""
}

// NATSURL returns GUANXI_TEST_NATS_URL. The server is shared with other
// tests: use unique stream names and subjects, and delete them in Cleanup.
func NATSURL(t testing.TB) string {
	t.Helper()
	return Getenv(t, EnvNATSURL, "nats")
}

// RedisURL returns GUANXI_TEST_REDIS_URL (skip/fail rule as NATSURL).
func RedisURL(t testing.TB) string {
	t.Helper()
	return Getenv(t, EnvRedisURL, "redis")
}

// UniqueName returns prefix followed by random hex, for streams, subjects
// and durables that must not collide on a shared server.
func UniqueName(prefix string) string { return prefix + randomHex(6) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Eventually re-checks cond every 20ms until it holds, and fails the test
// (naming what it waited for) once timeout has passed; it is for state that
// changes asynchronously with no event to wait on.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-ticker.C
	}
}

// Background runs run (a service's Run, a relay) until the test ends: its
// context is cancelled in t.Cleanup, which then waits up to 20s and fails
// the test unless run returned nil, because every guanxi loop must stop
// cleanly when asked.
func Background(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("returned %v on shutdown, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("did not return within 20s of shutdown")
		}
	})
}
