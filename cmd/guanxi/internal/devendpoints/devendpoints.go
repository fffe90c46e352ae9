// Package devendpoints is how the CLI finds a running `guanxi dev`: the
// suite writes where it listens to <data>/endpoints.json once it is ready
// (and removes the file when it stops), and the client commands read it,
// so `make run ARGS="-grpc-port 9101"` and `guanxi customers export` agree
// without repeating the ports.
package devendpoints

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the file in the data directory that holds the endpoints.
const FileName = "endpoints.json"

// DefaultDataDir is `guanxi dev`'s data directory when -data is not given.
const DefaultDataDir = ".guanxi"

// File is what a running suite writes: its REST edge, its NATS server and
// every gRPC service's address by name ("customer", ..., "access").
type File struct {
	HTTP string `json:"http"`
	NATS string `json:"nats"`
	// NATSOpsSeed is the NKey seed file operators' tools (`guanxi events`)
	// connect to NATS with.
	NATSOpsSeed string            `json:"nats_ops_seed,omitempty"`
	Services    map[string]string `json:"services"`
	// PID is the suite's process, so a reader can tell a file left behind
	// by a crash (the CLI only reports it in its error).
	PID int `json:"pid"`
}

// Write writes f into dir, replacing a file left by an earlier run in one
// rename, so a reader never sees half of it.
func Write(dir string, f File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+FileName+".*")
	if err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write endpoints: %w", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write endpoints: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write endpoints: %w", err)
	}
	return nil
}

// Remove deletes dir's endpoints file if it is still the one pid wrote: a
// second suite started on the same data directory (and failing on its
// ports) must not remove the running one's.
func Remove(dir string, pid int) {
	f, err := Read(dir)
	if err != nil || f.PID != pid {
		return
	}
	_ = os.Remove(filepath.Join(dir, FileName))
}

// Read reads dir's endpoints file; os.ErrNotExist when no suite wrote one.
func Read(dir string) (File, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return File{}, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return File{}, fmt.Errorf("read %s: %w", filepath.Join(dir, FileName), err)
	}
	return f, nil
}

// DefaultAddrs are the addresses of `guanxi dev` with its default ports,
// used when nothing else names a service.
var DefaultAddrs = map[string]string{
	"customer": "127.0.0.1:7101", "interaction": "127.0.0.1:7102", "loyalty": "127.0.0.1:7103",
	"segmentation": "127.0.0.1:7104", "notification": "127.0.0.1:7105", "access": "127.0.0.1:7106",
}

// EnvVar is the variable naming service's address for the CLI,
// e.g. GUANXI_CUSTOMER_ADDR.
func EnvVar(service string) string {
	return "GUANXI_" + strings.ToUpper(service) + "_ADDR"
}

// Source says where an address came from, for error messages.
type Source string

// The places an address is taken from, first match wins.
const (
	FromFlag    Source = "flag"
	FromEnv     Source = "environment"
	FromFile    Source = "endpoints file"
	FromDefault Source = "default"
)

// Addr resolves service's gRPC address: flagValue when a flag gave one,
// else $GUANXI_<SERVICE>_ADDR, else the endpoints file the running suite
// wrote in dataDir, else the default port.
func Addr(service, flagValue, dataDir string) (string, Source) {
	if flagValue != "" {
		return flagValue, FromFlag
	}
	if v := os.Getenv(EnvVar(service)); v != "" {
		return v, FromEnv
	}
	if f, err := Read(dataDir); err == nil && f.Services[service] != "" {
		return f.Services[service], FromFile
	}
	return DefaultAddrs[service], FromDefault
}

// Explain is a hint for an unreachable service at addr taken from src.
func Explain(service, addr string, src Source, dataDir string) string {
	switch src {
	case FromFlag:
		return fmt.Sprintf("%s service at %s (from the flag) is not reachable", service, addr)
	case FromEnv:
		return fmt.Sprintf("%s service at %s (from $%s) is not reachable", service, addr, EnvVar(service))
	case FromFile:
		return fmt.Sprintf("%s service at %s (from %s) is not reachable: did guanxi dev stop without removing it?",
			service, addr, filepath.Join(dataDir, FileName))
	}
	return fmt.Sprintf("%s service at %s is not reachable: is guanxi dev running? (it writes its ports to %s; -data names another data directory, %s or the flag another address)",
		service, addr, filepath.Join(dataDir, FileName), EnvVar(service))
}
