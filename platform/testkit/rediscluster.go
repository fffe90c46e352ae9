package testkit

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster starts a Redis Cluster of three masters (no replicas) from
// the redis-server and redis-cli on PATH, on free loopback ports in a
// temporary directory, waits until every node says cluster_state:ok, and
// stops it when the test ends. It returns the cluster's URL as
// platform/redisclient reads it: redis+cluster://host:port?addr=...&addr=...
// Without redis-server (Redis 7) it skips, or fails under RequireInfra.
func RedisCluster(t testing.TB) string {
	t.Helper()
	server, errServer := exec.LookPath("redis-server")
	cli, errCLI := exec.LookPath("redis-cli")
	if errServer != nil || errCLI != nil {
		if RequireInfra() {
			t.Fatalf("redis cluster: redis-server and redis-cli are needed on PATH and %s=1", EnvRequireInfra)
		}
		t.Skip("redis cluster: redis-server or redis-cli not on PATH")
	}
	dir := t.TempDir()
	var addrs []string
	for range 3 {
		port := clusterPort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+strconv.Itoa(port)+".conf",
			"--cluster-node-timeout", "5000", "--dir", dir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(dir, "redis-"+strconv.Itoa(port)+".log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("redis cluster: start %s: %v", addr, err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		addrs = append(addrs, addr)
		Eventually(t, 10*time.Second, "redis "+addr+" answering", func() bool {
			reply, err := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "ping").Output()
			return err == nil && strings.TrimSpace(string(reply)) == "PONG"
		})
	}
	create := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("redis cluster: create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		_, port, _ := net.SplitHostPort(addr)
		Eventually(t, 20*time.Second, "redis "+addr+" cluster_state:ok", func() bool {
			reply, err := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "cluster", "info").Output()
			return err == nil && strings.Contains(string(reply), "cluster_state:ok") &&
				strings.Contains(string(reply), "cluster_known_nodes:3")
		})
	}
	return fmt.Sprintf("redis+cluster://%s?addr=%s&addr=%s", addrs[0], addrs[1], addrs[2])
}

// clusterPort is a free loopback port whose cluster bus port (port+10000)
// is free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := lis.Addr().(*net.TCPAddr).Port
		lis.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	t.Fatal("redis cluster: no free port pair")
	return 0
}
