// Package version holds guanxi's release version: one value for every
// binary, the REST edge's OpenAPI document and `guanxi version`.
package version

// Version is the release this binary was built as. Release builds set it
// with -ldflags "-X github.com/guanxi-crm/guanxi/platform/version.Version=v1.2.3"
// (make build does, from git describe); anything else is a development
// build.
var Version = Dev

// Dev is the Version of a build that did not set one.
const Dev = "0.0.0-dev"
