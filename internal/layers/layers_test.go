package layers

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cofferstore/coffer"

// rank orders the layers; a package may import only packages of a lower
// rank (or the same package family's sub-packages, as listed in allowed).
// Test files are not checked: a conformance suite legitimately sits above
// what it tests.
var rank = map[string]int{
	"internal/checksum":   0,
	"internal/sigv4":      0,
	"internal/sigv2":      0,
	"internal/postpolicy": 0,
	"internal/policy":     0,
	"internal/lifecycle":  0,
	"internal/meta":       1,
	"internal/blob":       1,
	"internal/iam":        2,
	"internal/notify":     2,
	"internal/session":    2,
	"internal/sharelink":  2,
	"internal/object":     3,
	"internal/worker":     4,
	"internal/s3api":      4,
	"internal/mgmtapi":    4,
	"internal/server":     4,
	"cmd":                 9,
}

// forbidden lists imports a layer must never have, whatever its rank:
// storage and the object service stay protocol-free (DESIGN.md).
var forbidden = map[string][]string{
	"internal/meta":   {"net/http", "github.com/aws/", "github.com/minio/minio-go"},
	"internal/blob":   {"net/http", "github.com/aws/", "github.com/minio/minio-go"},
	"internal/object": {"net/http", "github.com/aws/", "github.com/minio/minio-go"},
}

func layerOf(pkg string) (string, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	best := ""
	for l := range rank {
		if (rel == l || strings.HasPrefix(rel, l+"/")) && len(l) > len(best) {
			best = l
		}
	}
	return best, best != ""
}

type goPackage struct {
	ImportPath string
	Imports    []string
}

func TestDependenciesPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		from, ok := layerOf(p.ImportPath)
		if !ok {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			for _, bad := range forbidden[from] {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s: layer %s must not", p.ImportPath, imp, from)
				}
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to, ok := layerOf(imp)
			if !ok {
				t.Errorf("%s imports %s, which has no layer: add it to rank", p.ImportPath, imp)
				continue
			}
			if to != from && rank[to] >= rank[from] {
				t.Errorf("%s (layer %s, rank %d) imports %s (layer %s, rank %d): dependencies must point down",
					p.ImportPath, from, rank[from], imp, to, rank[to])
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d packages checked: is the module path right?", checked)
	}
}
