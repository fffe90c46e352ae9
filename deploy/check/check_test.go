package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryDeploysClean checks the repository's own deployment files:
// every overlay renders, decodes strictly and keeps the policy.
func TestRepositoryDeploysClean(t *testing.T) {
	r, err := Check(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Error(p)
	}
	if len(r.Checked) < 2 {
		t.Errorf("checked %v, want the dev and production overlays at least", r.Checked)
	}
}

// TestPlantedProblemsFail renders overlays that each break one rule and
// checks that the check names the object and the rule.
func TestPlantedProblemsFail(t *testing.T) {
	settings, err := readSettings(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		overlay string
		want    []string
	}{
		{"no-probes", []string{"Deployment/customer container customer: needs startup, readiness and liveness probes"}},
		{"unknown-field", []string{"Deployment/loyalty", `unknown field "spec.template.spec.containers[0].imagePullPolicyy"`}},
		{"unknown-cnpg-field", []string{"Cluster/guanxi-pg", `unknown field "instancess"`}},
		{"open-policy", []string{"NetworkPolicy/gateway: selects every pod of the namespace"}},
		{"unset-setting", []string{
			"Deployment/loyalty container loyalty: GUANXI_LOYALTY_DATABASE_URL must be set in a cluster",
			"Deployment/loyalty container loyalty: sets GUANXI_LOYALTY_DATABASE_ULR, which no guanxi process reads",
		}},
	} {
		t.Run(tt.overlay, func(t *testing.T) {
			var r Report
			checkOverlay(&r, filepath.Join("testdata", tt.overlay), settings)
			all := strings.Join(r.Problems, "\n")
			for _, want := range tt.want {
				if !strings.Contains(all, want) {
					t.Errorf("problems\n%s\nname no %q", all, want)
				}
			}
			if len(r.Checked) != 0 {
				t.Errorf("overlay %s passed as %v", tt.overlay, r.Checked)
			}
		})
	}
}

// TestComposeProblemsFail loads Compose files that each break one rule.
func TestComposeProblemsFail(t *testing.T) {
	settings, err := readSettings(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"unknown-key.yaml":   "enviroment",
		"unset-setting.yaml": "service customer: GUANXI_CUSTOMER_DATABASE_URL must be set",
	} {
		var r Report
		checkCompose(&r, filepath.Join("testdata", "compose", file), settings)
		if all := strings.Join(r.Problems, "\n"); !strings.Contains(all, want) {
			t.Errorf("%s: problems\n%s\nname no %q", file, all, want)
		}
	}
}
