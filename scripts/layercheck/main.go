// Command layercheck fails when code in a guanxi service imports the wrong way.
//
// Inside a service the dependencies point ports -> app -> domain <- adapters
// (docs/architecture.md). A reviewer misses a wrong-way import; this check does
// not: `make layers` (called by `make lint`) runs it over every service and
// prints one line per offending import:
//
//	services/x/internal/ports/grpc/server.go:12: x internal/ports/grpc imports .../internal/adapters/events: ports never import adapters; they call app
//
// It exits 1 when it finds any, 2 when it cannot read the tree.
//
// Usage:
//
//	layercheck [repository root]
//
// The root defaults to the current directory. The rules are in rules.go.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code so a test can
// drive the command as CI does.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("layercheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: layercheck [repository root]")
		fmt.Fprintln(stderr, "Checks that every service under services/ imports in the direction ports -> app -> domain <- adapters.")
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 1 {
		flags.Usage()
		return 2
	}
	root := "."
	if flags.NArg() == 1 {
		root = flags.Arg(0)
	}
	findings, err := Check(root)
	if err != nil {
		fmt.Fprintf(stderr, "layercheck: %v\n", err)
		return 2
	}
	for _, f := range findings {
		fmt.Fprintf(stdout, "%s:%d: %s imports %s: %s\n",
			filepath.Join(root, filepath.FromSlash(f.File)), f.Line, f.Layer, f.Import, f.Rule)
	}
	if len(findings) > 0 {
		fmt.Fprintf(stderr, "layercheck: %d wrong-way imports; the layers are described in docs/architecture.md\n", len(findings))
		return 1
	}
	return 0
}
