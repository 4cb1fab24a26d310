package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// FuzzScan checks that Scan never panics, reports spans inside the text,
// and finds what the whole-text (gitleaks) way of running the rules finds.
func FuzzScan(f *testing.F) {
	for _, s := range testTexts(f) {
		f.Add(s)
	}
	d := defaultDetector(f)
	ref := naive(f, mustDefault(f))
	f.Fuzz(func(t *testing.T, text string) {
		run := func(d *Detector) ([]inspect.Finding, error) {
			var out []inspect.Finding
			err := d.Scan(context.Background(), []inspect.Text{{Value: text}}, func(f inspect.Finding) { out = append(out, f) })
			return out, err
		}
		got, err := run(d)
		want, werr := run(ref)
		if err != nil && !errors.Is(err, ErrLimit) {
			t.Fatal(err)
		}
		for _, f := range got {
			if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
				t.Fatalf("span %d..%d of %d bytes", f.Start, f.End, len(text))
			}
		}
		if (err == nil) != (werr == nil) || !slices.Equal(got, want) {
			t.Fatalf("gated %v (%v), whole text %v (%v)", got, err, want, werr)
		}
	})
}

// FuzzLoad checks that any rule file either loads or fails cleanly, and
// that what loads compiles and scans.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.toml"))
	invalid, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.toml"))
	for _, name := range append(files, invalid...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(defaultRules[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Load(data)
		if err != nil {
			return
		}
		d, err := New(r)
		if err != nil {
			return
		}
		var n int
		_ = d.Scan(context.Background(), []inspect.Text{{Value: string(data)}}, func(inspect.Finding) { n++ })
	})
}

// FuzzBacktrack holds the backtracker to Go's regexp on any pattern.
func FuzzBacktrack(f *testing.F) {
	d := defaultDetector(f)
	texts := testTexts(f)
	for i, r := range d.rules {
		f.Add(r.re.String(), texts[i%len(texts)])
	}
	f.Add(`(a|ab)(c|bcd)(d*)`, "abcd")
	f.Add(`(?i)\bk\w{2,}?\b`, "x \u212aey y")
	var m btm
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if len(pattern) > 200 || len(text) > 2000 {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		parsed, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return
		}
		p, ok := compileBacktrack(parsed)
		if !ok {
			return
		}
		if got, want := btFind(&m, p, text), re.FindStringSubmatchIndex(text); !slices.Equal(got, want) {
			t.Fatalf("%q on %q: backtracker %v, regexp %v", pattern, text, got, want)
		}
	})
}
