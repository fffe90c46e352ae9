package main

import "strings"

// The layers a package under a service's internal/ directory can be in. A
// package elsewhere in the service (the root package with <name>.go, which is
// the composition root, cmd/<name>, migrations, public helpers such as
// customer's importfile) is in no layer: it may wire anything of its own
// service, and only the cross-service rule applies to it.
const (
	layerNone      = ""          // outside internal/: composition root, cmd, migrations, public packages
	layerDomain    = "domain"    // internal/domain/...
	layerApp       = "app"       // internal/app/...
	layerProtoconv = "protoconv" // internal/protoconv/...
	layerAdapter   = "adapters"  // internal/adapters/<name>/...
	layerPort      = "ports"     // internal/ports/<name>/...
	layerUnknown   = "unknown"   // anything else under internal/
)

// The rules, as printed after the offending import.
const (
	ruleOtherService   = "a service imports no other service's module, only proto and platform"
	ruleDomainLayer    = "domain imports no other layer of its service"
	ruleDomainLibrary  = "domain imports no transport or storage library"
	ruleAppLayer       = "app imports only the domain of its service"
	ruleAppLibrary     = "app imports no transport or storage library"
	ruleProtoconvLayer = "protoconv imports only the domain of its service"
	ruleAdapterApp     = "adapters never import app; app calls them through interfaces the domain declares"
	ruleAdapterPort    = "adapters never import ports"
	ruleAdapterAdapter = "an adapter never imports another adapter"
	rulePortAdapter    = "ports never import adapters; they call app"
	rulePortPort       = "a port never imports another port"
	ruleUnknownLayer   = "that package is in no layer: internal/ holds only domain, app, protoconv, adapters/<name> and ports/<name>"
)

// transportLibraries are the import path prefixes domain and app must not
// depend on, directly or through a platform package: generated protos and
// gRPC, SQL and its drivers and migrations, NATS, Redis, HTTP and SMTP. The
// guanxi proto module is added per repository (see Check).
var transportLibraries = []string{
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"google.golang.org/genproto",
	"github.com/grpc-ecosystem",
	"database/sql",
	"github.com/jackc/pgx",
	"github.com/lib/pq",
	"modernc.org/sqlite",
	"github.com/mattn/go-sqlite3",
	"github.com/go-sql-driver/mysql",
	"github.com/pressly/goose",
	"github.com/nats-io",
	"github.com/redis/go-redis",
	"net/http",
	"net/smtp",
	"github.com/wneessen/go-mail",
}

// hasPathPrefix reports whether path is prefix or below it, by whole
// elements: "database/sql/driver" is below "database/sql", "net/httpx" is not
// below "net/http".
func hasPathPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// place is where a package sits in its service: its layer and, for adapters
// and ports, which one ("sqlstore", "events", "grpc").
type place struct {
	layer string
	name  string
}

// classify places the package in dir, a slash-separated path relative to the
// service's directory ("" for the root package).
func classify(dir string) place {
	rest, ok := strings.CutPrefix(dir, "internal")
	if !ok || (rest != "" && rest[0] != '/') {
		return place{layer: layerNone}
	}
	rest = strings.TrimPrefix(rest, "/")
	first, below, _ := strings.Cut(rest, "/")
	switch first {
	case "domain":
		return place{layer: layerDomain}
	case "app":
		return place{layer: layerApp}
	case "protoconv":
		return place{layer: layerProtoconv}
	case "adapters", "ports":
		name, _, _ := strings.Cut(below, "/")
		if first == "adapters" {
			return place{layer: layerAdapter, name: name}
		}
		return place{layer: layerPort, name: name}
	}
	return place{layer: layerUnknown}
}

// ownRule returns the rule broken when a package at from imports its own
// service's package at to, or "" when the import points the right way.
// Adapters and ports may import the service's packages outside internal/
// (migrations, public helpers such as importfile); Go's ban on import cycles
// already keeps them from the root package that wires them.
func ownRule(from, to place) string {
	if from.layer == layerNone || from.layer == layerUnknown {
		return "" // the composition root and cmd wire everything; an unknown package is reported where it is imported
	}
	if to.layer == layerUnknown {
		return ruleUnknownLayer
	}
	switch from.layer {
	case layerDomain:
		if to.layer != layerDomain {
			return ruleDomainLayer
		}
	case layerApp:
		if to.layer != layerDomain && to.layer != layerApp {
			return ruleAppLayer
		}
	case layerProtoconv:
		if to.layer != layerDomain && to.layer != layerProtoconv {
			return ruleProtoconvLayer
		}
	case layerAdapter:
		switch {
		case to.layer == layerApp:
			return ruleAdapterApp
		case to.layer == layerPort:
			return ruleAdapterPort
		case to.layer == layerAdapter && to.name != from.name:
			return ruleAdapterAdapter
		}
	case layerPort:
		switch {
		case to.layer == layerAdapter:
			return rulePortAdapter
		case to.layer == layerPort && to.name != from.name:
			return rulePortPort
		}
	}
	return ""
}
