package main

import (
	"context"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// checkCompose loads the Compose file at path with the compose-spec loader
// (schema validation on: an unknown key fails) and checks each guanxi
// container's environment as checkSettings does for Kubernetes.
func checkCompose(r *Report, path string, settings Settings) {
	name := filepath.Base(path)
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path}},
		// What the file asks its user to export.
		Environment: types.Mapping{"GUANXI_AUTH_SECRET": strings.Repeat("x", 32)},
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("guanxi", true)
		o.ResolvePaths = false
	})
	if err != nil {
		r.problem("compose %s: %v", name, err)
		return
	}
	before := len(r.Problems)
	names := make([]string, 0, len(project.Services))
	for n := range project.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		svc := project.Services[n]
		prefix := prefixOf(svc.Image)
		if prefix == "" {
			continue
		}
		for v := range svc.Environment {
			if strings.HasPrefix(v, "GUANXI_") && !settings.known[v] {
				r.problem("compose %s: service %s sets %s, which no guanxi process reads", name, n, v)
			}
		}
		for _, v := range settings.required(prefix) {
			if value, ok := svc.Environment[v]; !ok || value == nil || *value == "" {
				r.problem("compose %s: service %s: %s must be set", name, n, v)
			}
		}
	}
	if len(r.Problems) == before {
		r.Checked = append(r.Checked, "compose "+name+": "+strings.Join(names, ", "))
	}
}
