// Command check validates guanxi's deployment files offline, the way a
// cluster and Compose would read them, without either: it renders every
// kustomize overlay under deploy/kubernetes/overlays with the kustomize Go
// API, decodes each object strictly into its Kubernetes API type (an
// unknown field fails), checks the house policy (probes, resources,
// non-root, a PodDisruptionBudget and autoscaler per Deployment, Service
// ports that reach a container port, every setting a service needs in a
// cluster set, no setting it does not read), and loads deploy/compose with
// the compose-spec loader, and parses deploy/observability's alert rules
// with Prometheus' rule parser and its Grafana dashboards strictly, every
// query holding only metrics of deploy/observability/metrics.txt.
// `make deploy-check` runs it from the repository
// root; it prints each problem and exits 1 when there is one. With -images
// it checks the Dockerfile instead (`make images-check`, see CheckImages).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	images := flag.String("images", "", "instead, build every program of the Dockerfile into this directory and check the binaries")
	flag.Parse()
	check := func() (Report, error) { return Check(*root) }
	if *images != "" {
		check = func() (Report, error) { return CheckImages(*root, *images) }
	}
	report, err := check()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy-check:", err)
		os.Exit(2)
	}
	for _, line := range report.Checked {
		fmt.Println("checked", line)
	}
	for _, p := range report.Problems {
		fmt.Println("problem:", p)
	}
	if len(report.Problems) > 0 {
		fmt.Printf("deploy-check: %d problems\n", len(report.Problems))
		os.Exit(1)
	}
	fmt.Println("deploy-check: ok")
}
