package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadInvalid loads each file in testdata/invalid; its first line says
// what the error must contain.
func TestLoadInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no invalid rule files", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatal("first line must be # want: <error text>")
			}
			_, err = Load(b)
			if err == nil {
				t.Fatalf("loaded; want error %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\nwant it to contain %q", err, want)
			}
		})
	}
}

func TestLoadDefault(t *testing.T) {
	r := mustDefault(t)
	if len(r.rules)+len(r.pathOnly) != 222 || len(r.global) != 1 {
		t.Fatalf("%d rules, %d path-only, %d global allowlists", len(r.rules), len(r.pathOnly), len(r.global))
	}
	if r.ExtendsDefault() {
		t.Error("the default file does not extend anything")
	}
}

func TestNewCombines(t *testing.T) {
	base := loadFile(t, "semantics.toml")
	load := func(s string) *Rules {
		t.Helper()
		r, err := Load([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// A later rule with the same id replaces the earlier one.
	d := newDetector(t, base, load(`
[[rules]]
id = "plain"
regex = '''pl_(Z{4})'''
keywords = ["pl_"]
`))
	if got := scan(t, d, "pl_abcdefghijk pl_ZZZZ"); len(got) != 1 || got[0].Start != 18 {
		t.Errorf("replaced rule: %+v", got)
	}

	// disabledRules drops earlier rules; useDefault is reported.
	ext := load(`
[extend]
useDefault = true
disabledRules = ["entropy", "no-such-rule"]
`)
	if !ext.ExtendsDefault() {
		t.Error("ExtendsDefault false")
	}
	if got := scan(t, newDetector(t, base, ext), "ent_abcdefgh"); len(got) != 0 {
		t.Errorf("disabled rule fired: %+v", got)
	}

	// A user's global allowlist applies to the default rules.
	user := load(`
[[allowlists]]
regexes = ['''^AKIALALEMEL33243OLIB$''']

[[rules]]
id = "internal-token"
regex = '''\b(itk_[a-f0-9]{16})\b'''
keywords = ["itk_"]
`)
	d = newDetector(t, mustDefault(t), user)
	got := scan(t, d, "aws AKIALALEMEL33243OLIB and itk_0123456789abcdef")
	if len(got) != 1 || got[0].Rule != "internal-token" || got[0].Severity.String() != "high" {
		t.Errorf("default plus user rules: %+v", got)
	}

	// A targeted allowlist must name a rule of some set.
	_, err := New(load(`
[[allowlists]]
targetRules = ["nope"]
regexes = ["x"]
`))
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown target: %v", err)
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}
