// Package version is the release of guanxi a binary was built from.
package version

// Version is the release, set at build time with
// -ldflags "-X github.com/guanxi-crm/guanxi/platform/version.Version=v1.2.3"
// (the Makefile passes `git describe`); "dev" in a plain `go build`.
var Version = "dev"
