// Package config fills a service's configuration struct from environment
// variables and renders it for the start-up log with secrets masked.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Mask replaces secret values in Attrs output.
const Mask = "***"

// Load fills a T from the process environment. Field tags follow
// caarlos0/env (`env:"DB_URL" envDefault:"sqlite://data/x.db"`), and every
// variable name is prefixed with prefix (e.g. "GUANXI_CUSTOMER_").
func Load[T any](prefix string) (T, error) {
	return load[T](env.Options{Prefix: prefix})
}

// LoadFrom is Load reading from the given variables instead of the process
// environment, so tests can run in parallel without touching os.Environ.
func LoadFrom[T any](prefix string, environ map[string]string) (T, error) {
	if environ == nil {
		environ = map[string]string{}
	}
	return load[T](env.Options{Prefix: prefix, Environment: environ})
}

func load[T any](opts env.Options) (T, error) {
	cfg, err := env.ParseAsWithOptions[T](opts)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("load config: %w", err)
	}
	return cfg, nil
}

// Attrs returns one slog attribute per field of cfg (a struct or a pointer to
// one), for logging the configuration at start. Fields tagged
// `secret:"true"` are shown as Mask when set, and any string that parses as
// a URL carrying a password has that password redacted, because database
// and broker URLs routinely embed credentials.
func Attrs(cfg any) []slog.Attr {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return []slog.Attr{slog.Any("config", cfg)}
	}
	return structAttrs(v)
}

// Attr is Attrs as one "config" group, ready for the start-up log line.
func Attr(cfg any) slog.Attr {
	return slog.Attr{Key: "config", Value: slog.GroupValue(Attrs(cfg)...)}
}

func structAttrs(v reflect.Value) []slog.Attr {
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		// Fields not read from the environment (listeners, senders set by
		// code) are runtime wiring, not configuration.
		if !f.IsExported() || f.Tag.Get("env") == "-" {
			continue
		}
		fv := v.Field(i)
		// An embedded struct's fields are read without a prefix of their
		// own (caarlos0/env), so they are logged as the outer struct's.
		if f.Anonymous && fv.Kind() == reflect.Struct && f.Tag.Get("envPrefix") == "" {
			attrs = append(attrs, structAttrs(fv)...)
			continue
		}
		if f.Tag.Get("secret") == "true" {
			attrs = append(attrs, slog.String(f.Name, maskSecret(fv)))
			continue
		}
		attrs = append(attrs, fieldAttr(f.Name, fv))
	}
	return attrs
}

func fieldAttr(name string, v reflect.Value) slog.Attr {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return slog.Any(name, nil)
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		return slog.String(name, time.Duration(v.Int()).String())
	case v.Kind() == reflect.String:
		return slog.String(name, redactURL(v.String()))
	case v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]() && v.Type() != reflect.TypeFor[url.URL]():
		return slog.Attr{Key: name, Value: slog.GroupValue(structAttrs(v)...)}
	case v.Type() == reflect.TypeFor[url.URL]():
		u := v.Interface().(url.URL)
		return slog.String(name, u.Redacted())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		out := make([]string, v.Len())
		for i := range out {
			out[i] = redactURL(v.Index(i).String())
		}
		return slog.Any(name, out)
	default:
		return slog.Any(name, v.Interface())
	}
}

// maskSecret hides a secret's value but still tells an empty one apart, so
// the log shows whether the secret was configured at all.
func maskSecret(v reflect.Value) string {
	if v.IsZero() {
		return ""
	}
	return Mask
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	// url.URL would percent-encode "***"; substitute it after rendering.
	const placeholder = "guanxipasswordmasked"
	u.User = url.UserPassword(u.User.Username(), placeholder)
	return strings.Replace(u.String(), placeholder, Mask, 1)
}
