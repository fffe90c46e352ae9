// Package configdoc writes docs/configuration.md, the reference of every
// environment variable guanxi reads, from the configuration structs
// themselves: names, types and defaults from their struct tags (as
// platform/config reads them), descriptions from a `desc` tag or else the
// field's comment in the source. A field added to a struct is in the next
// generation without more work; a test fails while the committed file is
// not what Generate makes.
package configdoc

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/gateway"
	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/process"
	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
	"github.com/guanxi-crm/guanxi/services/access"
	"github.com/guanxi-crm/guanxi/services/customer"
	"github.com/guanxi-crm/guanxi/services/interaction"
	"github.com/guanxi-crm/guanxi/services/loyalty"
	"github.com/guanxi-crm/guanxi/services/notification"
	"github.com/guanxi-crm/guanxi/services/segmentation"
)

// modulePath is the common prefix of guanxi's modules; a package's source
// is its import path below it, relative to the repository root.
const modulePath = "github.com/guanxi-crm/guanxi/"

// Group is one configuration struct and the variable prefix it is read
// with (config.Load[T](Prefix)).
type Group struct {
	Title  string
	Prefix string
	// Config is a value of the struct type.
	Config any
	// About introduces the group's table.
	About string
}

// Groups are every configuration struct, shared ones first. A test checks
// that every config.Load call in the source reads one of these prefixes.
var Groups = []Group{
	{Title: "Authentication, every process", Prefix: "GUANXI_AUTH_", Config: auth.Config{},
		About: "Every process of a deployment (each service, the gateway, `guanxi dev`) reads the same token setup. `guanxi dev` keeps a secret in `.guanxi/auth.secret` when `GUANXI_AUTH_SECRET` is not set."},
	{Title: "TLS, every process", Prefix: "GUANXI_TLS_", Config: tlsconfig.Files{},
		About: "TLS is off unless a certificate and key are set; with a CA as well, services require client certificates it signed (mutual TLS) and every client verifies servers against it."},
	{Title: "Shutdown, every service and the gateway", Prefix: process.ShutdownPrefix, Config: process.Shutdown{},
		About: "How a service or gateway process stops on SIGTERM: not ready (gRPC health NOT_SERVING, `/readyz` 503) while serving for the drain, then in-flight work finished or handed back within the timeout, exit 0. `guanxi dev` stops at once. See [operations.md](operations.md#graceful-shutdown-and-probes)."},
	{Title: "customer service", Prefix: "GUANXI_CUSTOMER_", Config: customer.Config{},
		About: "`go run ./services/customer/cmd/customer`"},
	{Title: "interaction service", Prefix: "GUANXI_INTERACTION_", Config: interaction.Config{},
		About: "`go run ./services/interaction/cmd/interaction`"},
	{Title: "loyalty service", Prefix: "GUANXI_LOYALTY_", Config: loyalty.Config{},
		About: "`go run ./services/loyalty/cmd/loyalty`"},
	{Title: "segmentation service", Prefix: segmentation.EnvPrefix, Config: segmentation.Config{},
		About: "`go run ./services/segmentation/cmd/segmentation`"},
	{Title: "notification service", Prefix: notification.EnvPrefix, Config: notification.Config{},
		About: "`go run ./services/notification/cmd/notification`"},
	{Title: "access service", Prefix: "GUANXI_ACCESS_", Config: access.Config{},
		About: "`go run ./services/access/cmd/access`"},
	{Title: "REST gateway", Prefix: "GUANXI_GATEWAY_", Config: gateway.Config{},
		About: "`go run ./gateway/cmd/gateway`"},
}

// sharedDescriptions describe the variables every service has, by name
// after the prefix, for fields whose meaning needs no comment of its own.
var sharedDescriptions = map[string]string{
	"GRPC_ADDR":    "Address the service's gRPC server listens on (host:port).",
	"DATABASE_URL": "The service's database: `sqlite://PATH` (embedded) or `postgres://user:pass@host:5432/db`. Migrations run at start.",
	"NATS_URL":     "NATS server with JetStream the service publishes its events to and consumes others' from.",
	"HTTP_ADDR":    "Address the REST edge listens on (host:port).",
}

// services are the gRPC services another process may call; their
// <NAME>_ADDR variables share one description.
var services = []string{"customer", "interaction", "loyalty", "segmentation", "notification", "access"}

// sharedDescription is the description of a variable every service has,
// or of an address of a service this one calls; empty for any other.
func sharedDescription(name string) string {
	if d, ok := sharedDescriptions[name]; ok {
		return d
	}
	for _, s := range services {
		if name == strings.ToUpper(s)+"_ADDR" {
			return "gRPC address (host:port) of the " + s + " service, which this process calls."
		}
	}
	return ""
}

// Var is one environment variable.
type Var struct {
	Name, Type, Default, Description string
	Secret, Required                 bool
}

// Vars lists the variables of g in field order.
func Vars(root string, g Group) ([]Var, error) {
	c := &comments{root: root, fset: token.NewFileSet(), byType: map[string]map[string]string{}}
	var vars []Var
	err := walk(c, reflect.TypeOf(g.Config), g.Prefix, &vars)
	return vars, err
}

func walk(c *comments, t reflect.Type, prefix string, out *[]Var) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	docs, err := c.fields(t)
	if err != nil {
		return err
	}
	var missing []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("env")
		if !f.IsExported() || tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if tag == "" {
			// caarlos0/env reads a nested struct's fields with its
			// envPrefix; any other untagged field is not configuration.
			if ft.Kind() == reflect.Struct && !leaf(ft) {
				if err := walk(c, ft, prefix+f.Tag.Get("envPrefix"), out); err != nil {
					return err
				}
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		v := Var{
			Name:        prefix + name,
			Type:        typeName(ft, f.Tag.Get("envSeparator")),
			Default:     f.Tag.Get("envDefault"),
			Description: f.Tag.Get("desc"),
			Secret:      f.Tag.Get("secret") == "true",
			Required:    strings.Contains(","+opts+",", ",required,") || strings.Contains(","+opts+",", ",notEmpty,"),
		}
		if v.Description == "" {
			v.Description = docs[f.Name]
		}
		if v.Description == "" {
			v.Description = sharedDescription(name)
		}
		if v.Description == "" {
			missing = append(missing, t.PkgPath()+"."+t.Name()+"."+f.Name)
		}
		*out = append(*out, v)
	}
	if len(missing) > 0 {
		return fmt.Errorf("configuration fields without a description (add a comment or a desc tag): %s", strings.Join(missing, ", "))
	}
	return nil
}

// leaf tells struct types that are one value, not a group of variables.
func leaf(t reflect.Type) bool {
	return t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[url.URL]()
}

func typeName(t reflect.Type, sep string) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration"
	case t == reflect.TypeFor[url.URL]():
		return "URL"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if sep == "" {
			sep = ","
		}
		return "list of " + typeName(t.Elem(), "") + " (`" + sep + "`-separated)"
	case reflect.Map:
		return "map (`key:value,...`)"
	}
	return t.String()
}

// comments reads field comments from the source of the struct types.
type comments struct {
	root   string
	fset   *token.FileSet
	byType map[string]map[string]string
}

// fields returns the description of each field of struct type t, by field
// name: its doc comment, else its line comment, else the comment of a
// group the field is in: the nearest comment above it, with no blank line
// between, when that comment names the field ("MaxAttempts,
// RetryBaseDelay and RetryMaxDelay shape the retries") or is headed by a
// label ("SMTP: email goes out through SMTPAddr when set.").
func (c *comments) fields(t reflect.Type) (map[string]string, error) {
	key := t.PkgPath() + "." + t.Name()
	if m, ok := c.byType[key]; ok {
		return m, nil
	}
	rel, ok := strings.CutPrefix(t.PkgPath(), modulePath)
	if !ok {
		return nil, fmt.Errorf("%s is not a guanxi package", t.PkgPath())
	}
	dir := filepath.Join(c.root, filepath.FromSlash(rel))
	pkgs, err := parser.ParseDir(c.fset, dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var st *ast.StructType
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == t.Name() {
					if s, ok := ts.Type.(*ast.StructType); ok {
						st = s
					}
				}
				return st == nil
			})
		}
	}
	if st == nil {
		return nil, fmt.Errorf("type %s not found in %s", t.Name(), dir)
	}
	m := map[string]string{}
	var prev string
	prevEnd := -1
	for _, fld := range st.Fields.List {
		text := ""
		switch {
		case fld.Doc != nil:
			text = fld.Doc.Text()
		case fld.Comment != nil:
			text = fld.Comment.Text()
		}
		adjacent := prevEnd >= 0 && c.fset.Position(fld.Pos()).Line == prevEnd+1
		if !adjacent {
			prev = ""
		}
		if text != "" {
			prev = text
		}
		prevEnd = c.fset.Position(fld.End()).Line
		for _, n := range fld.Names {
			d := text
			if d == "" && prev != "" && (groupLabel.MatchString(prev) || strings.Contains(prev, n.Name)) {
				d = prev
			}
			m[n.Name] = oneLine(d)
		}
	}
	c.byType[key] = m
	return m, nil
}

// groupLabel heads a comment describing the fields below it ("SMTP: ...").
var groupLabel = regexp.MustCompile(`^[A-Z][A-Za-z]*: `)

// oneLine joins a comment's lines into one, for a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Generate renders the reference of every group, reading the source
// below root (the repository).
func Generate(root string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	var errs []error
	for _, g := range Groups {
		vars, err := Vars(root, g)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", g.Title, err))
			continue
		}
		fmt.Fprintf(&b, "\n## %s (`%s*`)\n\n%s\n\n", g.Title, g.Prefix, g.About)
		b.WriteString("| Variable | Type | Default | Description |\n| --- | --- | --- | --- |\n")
		for _, v := range vars {
			def := "—"
			if v.Default != "" {
				def = "`" + v.Default + "`"
			}
			desc := v.Description
			if v.Required {
				desc = "**Required.** " + desc
			}
			if v.Secret {
				desc += " Secret: logged as `***`."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, v.Type, cell(def), cell(desc))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	b.WriteString(footer)
	return b.Bytes(), nil
}

// cell escapes a table cell's pipes.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Prefixes are the prefixes of Groups, sorted.
func Prefixes() []string {
	var out []string
	for _, g := range Groups {
		out = append(out, g.Prefix)
	}
	sort.Strings(out)
	return out
}

// FindRoot walks up from dir to the repository root, the directory holding
// go.work.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the guanxi source tree (no go.work above the working directory)")
		}
		dir = parent
	}
}

const header = `# Configuration reference

<!-- Generated from the configuration structs by ` + "`make config-doc`" + ` (go run ./cmd/guanxi config-doc);
do not edit: change the struct's field comment and regenerate. A test fails when this file is stale. -->

Every process of guanxi is configured by environment variables: the shared ` + "`GUANXI_AUTH_*`" + ` and
` + "`GUANXI_TLS_*`" + `, and each service's own, under its prefix. A service run alone reads its variables as
listed; ` + "`guanxi dev`" + ` reads them too (so a dev suite can be tuned the same way, e.g.
` + "`GUANXI_NOTIFICATION_QUIET_HOURS=`" + `), but sets every listen address, database, NATS URL and the addresses
services call each other at from its own flags (` + "`guanxi dev -h`" + `). Durations are Go durations (` + "`90s`" + `,
` + "`10m`" + `, ` + "`1h30m`" + `); lists are comma-separated.
`

const footer = `
## Other variables

| Variable | Read by | Description |
| --- | --- | --- |
| ` + "`GUANXI_LOG_LEVEL`" + ` | services, gateway | ` + "`debug`, `info` (default), `warn` or `error`" + `; ` + "`guanxi dev`" + ` takes ` + "`-log-level`" + `. |
| ` + "`OTEL_EXPORTER_OTLP_ENDPOINT`" + ` | every process | OpenTelemetry traces and metrics go to this OTLP endpoint; off when unset. |
| ` + "`GOGC`, `GOMEMLIMIT`" + ` | every process | Go's garbage collector; guanxi runs at ` + "`GOGC=400`" + ` unless ` + "`GOGC`" + ` is set. |
| ` + "`GUANXI_TOKEN`, `GUANXI_API_KEY`" + ` | ` + "`guanxi customers`, `guanxi keys`" + ` | The credential the CLI calls with (else the admin key of ` + "`<data>/admin.key`" + `). |
| ` + "`GUANXI_CUSTOMER_ADDR`, `GUANXI_ACCESS_ADDR`" + ` | ` + "`guanxi customers`, `guanxi keys`" + ` | Where the CLI calls the customer and access services; else the running ` + "`guanxi dev`" + `'s ports from ` + "`<data>/endpoints.json`" + `, else 7101 and 7106. |
`
