package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// programRE matches a program line of the Dockerfile's case statement:
// `customer) pkg=./services/customer/cmd/customer ;;`.
var programRE = regexp.MustCompile(`(?m)^\s+([a-z]+)\) pkg=(\./\S+) ;;`)

// dockerPrograms returns the programs the Dockerfile builds an image of,
// by name, with the package each is built from.
func dockerPrograms(root string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return nil, err
	}
	programs := map[string]string{}
	for _, m := range programRE.FindAllStringSubmatch(string(b), -1) {
		programs[m[1]] = m[2]
	}
	if len(programs) == 0 {
		return nil, fmt.Errorf("Dockerfile: no program lines (`name) pkg=./path ;;`)")
	}
	return programs, nil
}

// mainPackages lists the repository's programs: each service's cmd, the
// gateway's and the guanxi CLI.
func mainPackages(root string) ([]string, error) {
	var pkgs []string
	for _, pattern := range []string{"services/*/cmd/*/main.go", "gateway/cmd/*/main.go", "cmd/*/main.go"} {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			rel, err := filepath.Rel(root, filepath.Dir(f))
			if err != nil {
				return nil, err
			}
			pkgs = append(pkgs, "./"+filepath.ToSlash(rel))
		}
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// CheckImages builds every program the Dockerfile names as the Dockerfile
// does (CGO_ENABLED=0, -trimpath) into out, checks each binary is static
// (no dynamic loader, no shared library), and that the Dockerfile names
// every program of the repository.
func CheckImages(root, out string) (Report, error) {
	var r Report
	programs, err := dockerPrograms(root)
	if err != nil {
		return r, err
	}
	pkgs, err := mainPackages(root)
	if err != nil {
		return r, err
	}
	built := map[string]bool{}
	for _, pkg := range programs {
		built[pkg] = true
	}
	for _, pkg := range pkgs {
		if !built[pkg] {
			r.problem("Dockerfile: builds no image of %s", pkg)
		}
	}
	names := make([]string, 0, len(programs))
	for name := range programs {
		names = append(names, name)
	}
	sort.Strings(names)
	if made, err := makePrograms(root); err != nil {
		return r, err
	} else if strings.Join(made, " ") != strings.Join(names, " ") {
		r.problem("Makefile: PROGRAMS (%s) are not the Dockerfile's programs (%s)", strings.Join(made, " "), strings.Join(names, " "))
	}
	for _, name := range names {
		bin := filepath.Join(out, name)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, programs[name])
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			r.problem("image %s: go build %s: %v\n%s", name, programs[name], err, msg)
			continue
		}
		if err := static(bin); err != nil {
			r.problem("image %s: %v", name, err)
			continue
		}
		info, err := os.Stat(bin)
		if err != nil {
			return r, err
		}
		r.Checked = append(r.Checked, fmt.Sprintf("image %s: %s, static, %.1f MB", name, programs[name], float64(info.Size())/1e6))
	}
	return r, nil
}

// makePrograms returns the Makefile's PROGRAMS, the images `make images`
// builds, sorted.
func makePrograms(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`(?m)^PROGRAMS\s*:=(.*)$`).FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("Makefile: no PROGRAMS := line")
	}
	programs := strings.Fields(string(m[1]))
	sort.Strings(programs)
	return programs, nil
}

// static returns an error unless the ELF binary at path runs without a
// dynamic loader or shared libraries, as a distroless static image needs.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it asks for a loader)", path)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %s", path, strings.Join(libs, ", "))
	}
	return nil
}
