package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Observability is what deploy/observability holds: the list of metrics
// guanxi exposes (metrics.txt, the one list; a test of the running suite
// scrapes every name on it), the Prometheus rules and the Grafana
// dashboards, which may name only those metrics and the rules' own
// recordings.
type Observability struct {
	// metrics are the exposed names by type: counter, gauge, histogram.
	metrics map[string]string
	// recorded are the names the rules record (guanxi:error_ratio:rate5m).
	recorded map[string]bool
}

var promqlParser = parser.NewParser(parser.Options{})

// checkObservability checks dir, the repository's deploy/observability.
// With runbook, the text of docs/operations.md, every alert's runbook
// annotation must name one of its headings.
func checkObservability(r *Report, dir string, runbook []byte) {
	anchors := headingAnchors(runbook)
	obs, err := readMetricsList(filepath.Join(dir, "metrics.txt"))
	if err != nil {
		r.problem("observability: %v", err)
		return
	}
	ruleFiles, _ := filepath.Glob(filepath.Join(dir, "rules", "*.yaml"))
	dashboards, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(ruleFiles) == 0 || len(dashboards) == 0 {
		r.problem("observability: %s needs rules/*.yaml and dashboards/*.json", dir)
		return
	}
	var groups []*rulefmt.RuleGroups
	for _, f := range ruleFiles {
		before := len(r.Problems)
		g := checkRules(r, f, anchors)
		if g != nil {
			groups = append(groups, g)
			obs.record(g)
		}
		if len(r.Problems) == before {
			r.Checked = append(r.Checked, "rules "+filepath.Base(f)+": "+ruleCount(g))
		}
	}
	// Names are checked once every file's recordings are known: one file
	// may use what another records.
	for i, g := range groups {
		for _, grp := range g.Groups {
			for _, rule := range grp.Rules {
				what := rule.Alert
				if what == "" {
					what = rule.Record
				}
				obs.checkExpr(r, fmt.Sprintf("rules %s: group %s, %s", filepath.Base(ruleFiles[i]), grp.Name, what), rule.Expr)
			}
		}
	}
	for _, f := range dashboards {
		before := len(r.Problems)
		n := obs.checkDashboard(r, f)
		if len(r.Problems) == before {
			r.Checked = append(r.Checked, fmt.Sprintf("dashboard %s: %d panels", filepath.Base(f), n))
		}
	}
}

func ruleCount(g *rulefmt.RuleGroups) string {
	if g == nil {
		return "none"
	}
	alerts, records := 0, 0
	for _, grp := range g.Groups {
		for _, rule := range grp.Rules {
			if rule.Alert != "" {
				alerts++
			} else {
				records++
			}
		}
	}
	return fmt.Sprintf("%d alerts, %d recording rules", alerts, records)
}

// metricTypes are the types metrics.txt may give a metric.
var metricTypes = map[string]bool{"counter": true, "gauge": true, "histogram": true}

// readMetricsList reads metrics.txt: "name type" a line, # comments.
func readMetricsList(path string) (*Observability, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	obs := &Observability{metrics: map[string]string{}, recorded: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 2 || !metricTypes[fields[1]] || !model.LegacyValidation.IsValidMetricName(fields[0]) {
			return nil, fmt.Errorf("%s:%d: %q is not \"name counter|gauge|histogram\"", path, n, sc.Text())
		}
		if _, dup := obs.metrics[fields[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", path, n, fields[0])
		}
		obs.metrics[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(obs.metrics) == 0 {
		return nil, fmt.Errorf("%s lists no metric", path)
	}
	return obs, nil
}

// checkRules parses a rules file with Prometheus' own rule parser (strict:
// an unknown field fails, every expression is parsed, every template
// checked) and returns its groups, or nil when it does not parse.
func checkRules(r *Report, path string, anchors map[string]bool) *rulefmt.RuleGroups {
	content, err := os.ReadFile(path)
	if err != nil {
		r.problem("rules %s: %v", filepath.Base(path), err)
		return nil
	}
	groups, errs := rulefmt.Parse(content, false, model.UTF8Validation, promqlParser, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		r.problem("rules %s: %v", filepath.Base(path), err)
	}
	if len(errs) > 0 {
		return nil
	}
	for _, g := range groups.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" {
				continue
			}
			anchor, ok := strings.CutPrefix(rule.Annotations["runbook"], "docs/operations.md#")
			switch {
			case !ok:
				r.problem("rules %s: alert %s has no runbook annotation pointing into docs/operations.md", filepath.Base(path), rule.Alert)
			case anchors != nil && !anchors[anchor]:
				r.problem("rules %s: alert %s: docs/operations.md has no heading #%s", filepath.Base(path), rule.Alert, anchor)
			}
		}
	}
	return groups
}

// headingAnchors returns the anchors GitHub gives the Markdown headings of
// doc ("### GuanxiOutboxBackingUp" is #guanxioutboxbackingup); nil for no
// doc.
func headingAnchors(doc []byte) map[string]bool {
	if doc == nil {
		return nil
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, c := range strings.ToLower(strings.TrimSpace(title)) {
			switch {
			case c == ' ':
				b.WriteByte('-')
			case c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c > 127:
				b.WriteRune(c)
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

func (o *Observability) record(g *rulefmt.RuleGroups) {
	for _, grp := range g.Groups {
		for _, rule := range grp.Rules {
			if rule.Record != "" {
				o.recorded[rule.Record] = true
			}
		}
	}
}

// checkExpr parses expr and reports every metric it selects that guanxi
// does not expose (nor a rule record): a typo, or a name the
// instrumentation no longer has.
func (o *Observability) checkExpr(r *Report, where, expr string) {
	e, err := promqlParser.ParseExpr(expr)
	if err != nil {
		r.problem("%s: %v", where, err)
		return
	}
	for _, name := range selectedNames(e) {
		if !o.known(name) {
			r.problem("%s: selects %s, which no guanxi process exposes (deploy/observability/metrics.txt)", where, name)
		}
	}
}

// selectedNames returns the metric names the vector and matrix selectors
// of e select, sorted; a selector without a fixed name ({__name__=~...})
// is returned as its text, which no list holds.
func selectedNames(e parser.Expr) []string {
	seen := map[string]bool{}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			name = vs.String()
		}
		seen[name] = true
		return nil
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// known reports whether name is exposed: listed, a histogram's series, or
// recorded by a rule.
func (o *Observability) known(name string) bool {
	if _, ok := o.metrics[name]; ok || o.recorded[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && o.metrics[base] == "histogram" {
			return true
		}
	}
	return false
}

// dashboard is the part of Grafana's dashboard JSON model guanxi's
// dashboards use. It is decoded strictly: a field it does not have (a
// typo such as "pannels" or "exprr") fails the check.
type dashboard struct {
	UID           string                    `json:"uid"`
	Title         string                    `json:"title"`
	Tags          []string                  `json:"tags"`
	Timezone      string                    `json:"timezone"`
	SchemaVersion int                       `json:"schemaVersion"`
	Version       int                       `json:"version"`
	Editable      bool                      `json:"editable"`
	Refresh       string                    `json:"refresh"`
	Time          struct{ From, To string } `json:"time"`
	Templating    struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []json.RawMessage `json:"list"`
	} `json:"annotations"`
	Panels []panel `json:"panels"`
}

type templateVar struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
	Label string `json:"label"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int           `json:"id"`
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Datasource datasourceRef `json:"datasource"`
	GridPos    struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	} `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []json.RawMessage `json:"overrides"`
	} `json:"fieldConfig"`
	Targets []target `json:"targets"`
}

type target struct {
	RefID        string        `json:"refId"`
	Expr         string        `json:"expr"`
	LegendFormat string        `json:"legendFormat"`
	Datasource   datasourceRef `json:"datasource"`
}

// panelTypes are the panel types guanxi's dashboards use.
var panelTypes = map[string]bool{"timeseries": true, "stat": true, "gauge": true, "table": true, "bargauge": true}

// grafanaVars are the variables Grafana fills into a query before
// Prometheus sees it; each is replaced by a duration to parse.
var grafanaVars = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)

// checkDashboard decodes a dashboard strictly and checks its panels:
// a known type, unique ids, the datasource variable the dashboard
// declares, and queries that parse and select only exposed metrics. It
// returns the number of panels.
func (o *Observability) checkDashboard(r *Report, path string) int {
	name := "dashboard " + filepath.Base(path)
	content, err := os.ReadFile(path)
	if err != nil {
		r.problem("%s: %v", name, err)
		return 0
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		r.problem("%s: %v", name, err)
		return 0
	}
	if _, err := dec.Token(); err != io.EOF {
		r.problem("%s: more than one JSON value", name)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		r.problem("%s: needs a uid, a title and panels", name)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		where := fmt.Sprintf("%s: panel %d %q", name, p.ID, p.Title)
		if ids[p.ID] {
			r.problem("%s: id used twice", where)
		}
		ids[p.ID] = true
		if !panelTypes[p.Type] {
			r.problem("%s: unknown panel type %q", where, p.Type)
		}
		if len(p.Targets) == 0 {
			r.problem("%s: no query", where)
		}
		for _, ds := range append([]datasourceRef{p.Datasource}, targetSources(p.Targets)...) {
			if v, ok := strings.CutPrefix(ds.UID, "$"); ds.Type != "prometheus" || !ok || !vars[strings.Trim(v, "{}")] {
				r.problem("%s: datasource %+v is not a Prometheus datasource variable of the dashboard", where, ds)
			}
		}
		for _, t := range p.Targets {
			o.checkExpr(r, where+" query "+t.RefID, grafanaVars.ReplaceAllString(t.Expr, "5m"))
		}
	}
	return len(d.Panels)
}

func targetSources(ts []target) []datasourceRef {
	out := make([]datasourceRef, len(ts))
	for i, t := range ts {
		out[i] = t.Datasource
	}
	return out
}
