package standin

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The README promises Node 20, and localstack/package.json says so in
// engines.node. npm ci only warns (EBADENGINE) when a locked package wants a
// newer Node, and a warning is easy to miss until a user on Node 20 meets the
// failure; this test makes it a red build instead. It checks every package in
// the lockfiles of the stand-ins and of the CDK CLI against the oldest Node
// localstack/package.json admits.
func TestLockedPackagesRunOnTheDeclaredNode(t *testing.T) {
	var root struct {
		Engines struct{ Node string } `json:"engines"`
	}
	readJSON(t, "../package.json", &root)
	oldest, err := minimumOf(root.Engines.Node)
	if err != nil {
		t.Fatalf("localstack/package.json engines.node: %v", err)
	}
	if oldest.major != 20 {
		t.Errorf("localstack/package.json admits Node %s; the README and .ci/run say Node 20: change them together", oldest)
	}
	for _, lock := range []string{"../package-lock.json", "../../infra/package-lock.json"} {
		var l struct {
			Packages map[string]struct {
				Version string          `json:"version"`
				Engines json.RawMessage `json:"engines"`
			} `json:"packages"`
		}
		readJSON(t, lock, &l)
		for path, p := range l.Packages {
			if path == "" || len(p.Engines) == 0 {
				continue
			}
			// engines is an object in today's packages, an array in a few
			// old ones (which never name node).
			var e struct{ Node string }
			if json.Unmarshal(p.Engines, &e) != nil || e.Node == "" {
				continue
			}
			ok, err := satisfies(oldest, e.Node)
			switch {
			case err != nil:
				t.Errorf("%s: %s@%s engines.node %q: %v; check it by hand and teach this test", lock, path, p.Version, e.Node, err)
			case !ok:
				t.Errorf("%s: %s@%s needs node %q, but localstack/package.json admits Node %s: pin a version that runs on it (npm overrides)",
					lock, path, p.Version, e.Node, oldest)
			}
		}
	}
}

func TestSatisfies(t *testing.T) {
	v20 := version{20, 0, 0}
	tests := []struct {
		rng  string
		want bool
	}{
		{">=20", true}, {">=20.0.0", true}, {">= 10.x", true}, {">=0.10.0", true}, {"*", true}, {"", true},
		{">=22", false}, {">=20.19", false}, {">20", false}, {"^20.0.0", true}, {"^18", false}, {"^18 || >=20", true},
		{">=18 <21", true}, {">=18 <20", false}, {"20.x", true}, {"<=20.0.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.rng, func(t *testing.T) {
			got, err := satisfies(v20, tc.rng)
			if err != nil || got != tc.want {
				t.Errorf("satisfies(20.0.0, %q) = %v, %v; want %v", tc.rng, got, err, tc.want)
			}
		})
	}
	if _, err := satisfies(v20, "~20 - 22"); err == nil {
		t.Error("a range form the test does not read must be an error, not a pass")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type version struct{ major, minor, patch int }

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v version) cmp(w version) int {
	for _, d := range []int{v.major - w.major, v.minor - w.minor, v.patch - w.patch} {
		if d != 0 {
			return d
		}
	}
	return 0
}

// parseVersion reads "20", "20.1", "20.x", "20.1.2"; a missing or x part is 0
// and reported as wild.
func parseVersion(s string) (v version, parts int, err error) {
	f := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(f) > 3 {
		return v, 0, fmt.Errorf("version %q", s)
	}
	n := []*int{&v.major, &v.minor, &v.patch}
	for i, p := range f {
		if p == "x" || p == "X" || p == "*" {
			return v, i, nil
		}
		if *n[i], err = strconv.Atoi(p); err != nil {
			return v, 0, fmt.Errorf("version %q", s)
		}
	}
	return v, len(f), nil
}

// minimumOf is the version a ">=X" range starts at.
func minimumOf(rng string) (version, error) {
	rng = strings.TrimSpace(rng)
	if !strings.HasPrefix(rng, ">=") || strings.ContainsAny(rng, "|<") {
		return version{}, fmt.Errorf("want a range of the form >=X, got %q", rng)
	}
	v, _, err := parseVersion(strings.TrimSpace(rng[2:]))
	return v, err
}

// satisfies reports whether v is in the npm semver range rng, for the forms
// packages use in engines.node: alternatives joined by ||, each a list of
// comparators (>=, >, <=, <, =, ^, bare or x versions). Any other form is an
// error, so the test never passes a range it did not read.
func satisfies(v version, rng string) (bool, error) {
	for _, alt := range strings.Split(rng, "||") {
		// ">= 10.x" is one comparator with a space inside.
		fields := strings.Fields(strings.NewReplacer(">= ", ">=", "<= ", "<=", "> ", ">", "< ", "<").Replace(strings.TrimSpace(alt)))
		all := true
		for _, c := range fields {
			ok, err := comparator(v, c)
			if err != nil {
				return false, err
			}
			all = all && ok
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func comparator(v version, c string) (bool, error) {
	if c == "*" || c == "x" {
		return true, nil
	}
	op := strings.TrimRight(c[:min(2, len(c))], "0123456789vxX*")
	w, parts, err := parseVersion(c[len(op):])
	if err != nil {
		return false, err
	}
	switch op {
	case ">=":
		return v.cmp(w) >= 0, nil
	case ">":
		return v.cmp(w) > 0, nil
	case "<=":
		return v.cmp(w) <= 0, nil
	case "<":
		return v.cmp(w) < 0, nil
	case "^":
		return v.cmp(w) >= 0 && v.major == w.major, nil
	case "", "=":
		// "20" and "20.x" mean any 20.*; "20.1.2" means that version only.
		switch parts {
		case 0:
			return true, nil
		case 1:
			return v.major == w.major, nil
		case 2:
			return v.major == w.major && v.minor == w.minor, nil
		}
		return v.cmp(w) == 0, nil
	}
	return false, fmt.Errorf("comparator %q", c)
}
