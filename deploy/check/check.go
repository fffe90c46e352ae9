package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Report is what Check found: what it checked, one line each, and every
// problem, each naming the file or object it is about.
type Report struct {
	Checked  []string
	Problems []string
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Check validates the deployment files of the repository at root: every
// overlay of deploy/kubernetes/overlays and every Compose file of
// deploy/compose, against the settings docs/configuration.md lists, and
// the alert rules and dashboards of deploy/observability against the
// metrics guanxi exposes.
func Check(root string) (Report, error) {
	var r Report
	settings, err := readSettings(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		return r, err
	}
	overlays, err := subdirs(filepath.Join(root, "deploy", "kubernetes", "overlays"))
	if err != nil {
		return r, err
	}
	if len(overlays) == 0 {
		return r, fmt.Errorf("no overlay in deploy/kubernetes/overlays")
	}
	for _, dir := range overlays {
		checkOverlay(&r, dir, settings)
	}
	composeFiles, _ := filepath.Glob(filepath.Join(root, "deploy", "compose", "compose*.yaml"))
	for _, f := range composeFiles {
		checkCompose(&r, f, settings)
	}
	runbook, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		return r, err
	}
	checkObservability(&r, filepath.Join(root, "deploy", "observability"), runbook)
	return r, nil
}

// checkOverlay renders the overlay in dir and checks its objects.
func checkOverlay(r *Report, dir string, settings Settings) {
	name := filepath.Base(dir)
	objs, err := render(dir)
	if err != nil {
		r.problem("overlay %s: %v", name, err)
		return
	}
	before := len(r.Problems)
	cluster := newCluster(objs, func(format string, args ...any) {
		r.problem("overlay %s: "+format, append([]any{name}, args...)...)
	})
	cluster.checkWorkloads()
	cluster.checkServices()
	cluster.checkSettings(settings)
	if len(r.Problems) == before {
		r.Checked = append(r.Checked, fmt.Sprintf("overlay %s: %d objects", name, len(objs)))
	}
}

// subdirs lists the directories in dir, sorted.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}
