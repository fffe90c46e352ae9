package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryObservabilityClean checks the repository's rules and
// dashboards on their own, so that a failure names them.
func TestRepositoryObservabilityClean(t *testing.T) {
	runbook, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	checkObservability(&r, filepath.Join("..", "observability"), runbook)
	for _, p := range r.Problems {
		t.Error(p)
	}
	var rules, dashboards int
	for _, c := range r.Checked {
		switch {
		case strings.HasPrefix(c, "rules "):
			rules++
		case strings.HasPrefix(c, "dashboard "):
			dashboards++
		}
	}
	// A dashboard per service and the gateway, and the event flow's.
	if rules == 0 || dashboards < 8 {
		t.Errorf("checked %d rules files and %d dashboards, want some and 8: %v", rules, dashboards, r.Checked)
	}
}

// TestPlantedObservabilityProblemsFail checks rules and dashboards that
// each break one thing: every problem is named, and nothing planted
// passes.
func TestPlantedObservabilityProblemsFail(t *testing.T) {
	for _, tt := range []struct {
		dir          string
		want         []string
		passesNoneOf []string
	}{
		{"bad-rules", []string{
			"rules planted.rules.yaml",
			"group planted, GuanxiDeadLettersTypo: selects guanxi_dead_leters_total, which no guanxi process exposes",
			"alert GuanxiNoRunbook has no runbook annotation",
			"alert GuanxiDeadLettersTypo: docs/operations.md has no heading #guanxideadletters",
			"group planted, guanxi:planted:bad: selects rpc_server_call_duration_seconds_total, which no guanxi process exposes",
			"rules unknown-field.rules.yaml", `field fro not found`,
			"rules broken.rules.yaml", `"GuanxiBroken": could not parse expression`,
		}, []string{"rules planted.rules.yaml", "rules unknown-field.rules.yaml", "rules broken.rules.yaml"}},
		{"bad-dashboard", []string{
			`dashboard typo-field.json: json: unknown field "exprr"`,
			`dashboard typo-metric.json: panel 1 "pending" query A: selects guanxi_outbox_pending_event, which no guanxi process exposes`,
			`dashboard typo-metric.json: panel 1 "dead letters": id used twice`,
			`unknown panel type "timeserie"`,
			`datasource {Type:prometheus UID:prom-1} is not a Prometheus datasource variable`,
		}, []string{"dashboard typo-field.json", "dashboard typo-metric.json"}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			var r Report
			checkObservability(&r, filepath.Join("testdata", "observability", tt.dir), []byte("# Runbook\n\n### GuanxiOutboxBackingUp\n"))
			all := strings.Join(r.Problems, "\n")
			for _, want := range tt.want {
				if !strings.Contains(all, want) {
					t.Errorf("problems\n%s\nname no %q", all, want)
				}
			}
			for _, c := range r.Checked {
				for _, bad := range tt.passesNoneOf {
					if strings.HasPrefix(c, bad) {
						t.Errorf("%s passed: %s", bad, c)
					}
				}
			}
			// The good files beside the planted ones pass: the check
			// does not fail everything.
			if !strings.Contains(strings.Join(r.Checked, "\n"), "ok.json") {
				t.Errorf("the good dashboard did not pass: checked %v, problems\n%s", r.Checked, all)
			}
		})
	}
}
