package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Settings are the environment variables guanxi's processes read, from
// docs/configuration.md (generated from the configuration structs, and
// kept current by a test): by variable, whether a process in a cluster
// must be given it, and by image the prefix of its own variables.
type Settings struct {
	// known holds every variable a process reads.
	known map[string]bool
	// mustSet holds, by prefix (GUANXI_CUSTOMER_), the variables a process
	// must be given outside `guanxi dev`: the required ones, and those whose
	// default is only good on a developer's machine (a loopback address, an
	// SQLite file).
	mustSet map[string][]string
	// shared are the variables every process must be given (the token
	// secret).
	shared []string
}

var (
	sectionRE = regexp.MustCompile("^## .*\\(`(GUANXI_[A-Z]+_)\\*`\\)")
	rowRE     = regexp.MustCompile("^\\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)* \\|")
	varRE     = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	// requiredRE finds a description that starts "Field (required".
	requiredRE = regexp.MustCompile(`^\w+ \(required`)
)

func readSettings(path string) (Settings, error) {
	f, err := os.Open(path)
	if err != nil {
		return Settings{}, err
	}
	defer func() { _ = f.Close() }()
	s := Settings{known: map[string]bool{}, mustSet: map[string][]string{}}
	prefix := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			prefix = m[1]
			continue
		}
		if strings.HasPrefix(line, "## ") {
			prefix = ""
		}
		if !rowRE.MatchString(line) {
			continue
		}
		cells := strings.Split(line, " | ")
		for _, m := range varRE.FindAllStringSubmatch(cells[0], -1) {
			s.known[m[1]] = true
		}
		if prefix == "" || len(cells) < 4 {
			continue
		}
		name := varRE.FindStringSubmatch(cells[0])[1]
		def, desc := cells[2], cells[3]
		if requiredRE.MatchString(desc) || strings.Contains(def, "127.0.0.1") || strings.Contains(def, "sqlite://") {
			if prefix == "GUANXI_AUTH_" {
				s.shared = append(s.shared, name)
			} else {
				s.mustSet[prefix] = append(s.mustSet[prefix], name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if len(s.known) == 0 || len(s.shared) == 0 {
		return s, fmt.Errorf("%s: no settings found (has its format changed?)", path)
	}
	return s, nil
}

// required returns the variables the process whose own prefix is prefix
// must be given.
func (s Settings) required(prefix string) []string {
	return append(append([]string(nil), s.shared...), s.mustSet[prefix]...)
}

// prefixOf is the prefix of a guanxi image's own variables
// (ghcr.io/guanxi-crm/guanxi-customer:v1 -> GUANXI_CUSTOMER_), or "" for an
// image that is not guanxi's.
func prefixOf(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	svc, ok := strings.CutPrefix(name, "guanxi-")
	if !ok || svc == "cli" {
		return ""
	}
	return "GUANXI_" + strings.ToUpper(svc) + "_"
}
