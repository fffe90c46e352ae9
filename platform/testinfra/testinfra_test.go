package testinfra_test

import (
	"strings"
	"testing"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

func TestDatabasesAlwaysHasSQLite(t *testing.T) {
	t.Parallel()
	dbs := testinfra.Databases(t)
	if len(dbs) == 0 || dbs[0].Name != "sqlite" || !strings.HasPrefix(dbs[0].URL, "sqlite:///") {
		t.Fatalf("Databases = %+v", dbs)
	}
	for _, d := range dbs[1:] {
		if d.Name != "postgres" || !strings.Contains(d.URL, "/guanxi_test_") {
			t.Errorf("unexpected database %+v", d)
		}
	}
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	a, b := testinfra.UniqueName("T"), testinfra.UniqueName("T")
	if a == b || !strings.HasPrefix(a, "T") {
		t.Fatalf("UniqueName gave %q and %q", a, b)
	}
}

func TestEmbeddedNATS(t *testing.T) {
	t.Parallel()
	if url := testinfra.EmbeddedNATS(t); !strings.HasPrefix(url, "nats://") {
		t.Fatalf("url = %q", url)
	}
}
