package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

type wantFinding struct {
	Rule     string `json:"rule"`
	Secret   string `json:"secret"`
	Start    *int   `json:"start"`
	Severity string `json:"severity"`
}

type scanCase struct {
	Name string        `json:"name"`
	Text string        `json:"text"`
	Want []wantFinding `json:"want"`
}

func readJSON[T any](t testing.TB, name string) T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func loadFile(t testing.TB, name string) *Rules {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func newDetector(t testing.TB, sets ...*Rules) *Detector {
	t.Helper()
	d, err := New(sets...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func defaultDetector(t testing.TB) *Detector {
	t.Helper()
	d, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// naive is d running every triggered rule over the whole text, as gitleaks
// does: the reference for the gated scan.
func naive(t testing.TB, sets ...*Rules) *Detector {
	t.Helper()
	d := newDetector(t, sets...)
	d.naive = true
	return d
}

func scan(t testing.TB, d *Detector, texts ...string) []inspect.Finding {
	t.Helper()
	in := make([]inspect.Text, len(texts))
	for i, s := range texts {
		in[i] = inspect.Text{Field: "f", Value: s}
	}
	var out []inspect.Finding
	if err := d.Scan(context.Background(), in, func(f inspect.Finding) { out = append(out, f) }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

func checkCase(t *testing.T, d *Detector, c scanCase) {
	t.Helper()
	got := scan(t, d, c.Text)
	type pair struct{ rule, secret string }
	var g, w []pair
	for _, f := range got {
		if f.Start < 0 || f.End > len(c.Text) || f.Start >= f.End {
			t.Fatalf("span %d..%d out of %d bytes", f.Start, f.End, len(c.Text))
		}
		if f.Score != 1 || f.Text != 0 || f.Detector != "" || f.Hash != "" {
			t.Errorf("finding %+v: want Score 1, Text 0, and no Detector or Hash", f)
		}
		g = append(g, pair{f.Rule, c.Text[f.Start:f.End]})
	}
	for _, x := range c.Want {
		w = append(w, pair{x.Rule, x.Secret})
	}
	less := func(a, b pair) int { return strings.Compare(a.rule+"\x00"+a.secret, b.rule+"\x00"+b.secret) }
	slices.SortFunc(g, less)
	slices.SortFunc(w, less)
	if !slices.Equal(g, w) {
		t.Fatalf("got %q\nwant %q", g, w)
	}
	for _, x := range c.Want {
		for _, f := range got {
			if f.Rule != x.Rule || c.Text[f.Start:f.End] != x.Secret {
				continue
			}
			if x.Start != nil && f.Start != *x.Start {
				t.Errorf("%s: start %d, want %d", x.Rule, f.Start, *x.Start)
			}
			if x.Severity != "" && f.Severity.String() != x.Severity {
				t.Errorf("%s: severity %v, want %s", x.Rule, f.Severity, x.Severity)
			}
		}
	}
}

// TestSemantics runs rules written to exercise one gitleaks feature each.
func TestSemantics(t *testing.T) {
	rules := loadFile(t, "semantics.toml")
	for _, d := range []*Detector{newDetector(t, rules), naive(t, rules)} {
		for _, c := range readJSON[[]scanCase](t, "semantics.json") {
			t.Run(c.Name, func(t *testing.T) { checkCase(t, d, c) })
		}
	}
}

// TestDefaultRules runs the default rules on hand-written cases.
func TestDefaultRules(t *testing.T) {
	d := defaultDetector(t)
	for _, c := range readJSON[[]scanCase](t, "default.json") {
		t.Run(c.Name, func(t *testing.T) { checkCase(t, d, c) })
	}
}

func TestCoverage(t *testing.T) {
	d := newDetector(t, loadFile(t, "semantics.toml"))
	c := d.Coverage()
	if !slices.Equal(c.PathOnly, []string{"path-only"}) {
		t.Errorf("PathOnly %q", c.PathOnly)
	}
	if !slices.Equal(c.Always, []string{"no-keywords"}) {
		t.Errorf("Always %q", c.Always)
	}
	if !slices.Equal(c.Whole, []string{"kw-elsewhere"}) {
		t.Errorf("Whole %q", c.Whole)
	}
	if c.Rules != c.Gated+len(c.Whole)+len(c.Always) {
		t.Errorf("%+v does not add up", c)
	}

	c = defaultDetector(t).Coverage()
	t.Logf("default rules: %d scanned, %d gated; whole text on a keyword: %q; always: %q; path only (left out): %q",
		c.Rules, c.Gated, c.Whole, c.Always, c.PathOnly)
	if c.Rules != 221 || len(c.PathOnly) != 1 || c.Gated < 210 {
		t.Errorf("default coverage %+v", c)
	}
}

func TestName(t *testing.T) {
	if n := defaultDetector(t).Name(); n != "secrets" {
		t.Fatalf("Name %q", n)
	}
}

func TestInvalidUTF8(t *testing.T) {
	d := defaultDetector(t)
	tok := "ghp_8ZmQh2vT5kL9pRw3XyA7bN4cJ6dF1gH0sE2u"
	for _, text := range []string{
		"\xff\xfe token " + tok + " \xc3",
		"\xe2\x84" + tok + "\xe2",
		"api_key = \"\xffZx8Qp3Lm9Vt2Wr7Ky4Nb\xff\"",
		strings.Repeat("\x80\xbf\xc0", 1000) + tok,
	} {
		got := scan(t, d, text)
		want := naive(t, mustDefault(t))
		if ref := scan(t, want, text); !slices.Equal(got, ref) {
			t.Errorf("%q: gated %v, naive %v", text, got, ref)
		}
		if strings.Contains(text, tok) && (len(got) == 0 || text[got[0].Start:got[0].End] != tok) {
			t.Errorf("%q: %v", text, got)
		}
	}
}

func mustDefault(t testing.TB) *Rules {
	t.Helper()
	r, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSeveralTexts checks Text indexes and that rules see each text alone.
func TestSeveralTexts(t *testing.T) {
	d := defaultDetector(t)
	got := scan(t, d, "nothing here", "aws AKIALALEMEL33243OLIB", "", "ghp_8ZmQh2vT5kL9pRw3XyA7bN4cJ6dF1gH0sE2u")
	if len(got) != 2 || got[0].Text != 1 || got[1].Text != 3 {
		t.Fatalf("%+v", got)
	}
}

// TestConcurrent scans from several goroutines at once; run with -race.
func TestConcurrent(t *testing.T) {
	d := defaultDetector(t)
	cases := readJSON[[]scanCase](t, "default.json")
	want := make([][]inspect.Finding, len(cases))
	for i, c := range cases {
		want[i] = scan(t, d, c.Text)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for n := range 50 {
				i := (g + n) % len(cases)
				var got []inspect.Finding
				err := d.Scan(context.Background(), []inspect.Text{{Field: "f", Value: cases[i].Text}}, func(f inspect.Finding) { got = append(got, f) })
				if err == nil && !slices.Equal(got, want[i]) {
					err = fmt.Errorf("%s: %v, want %v", cases[i].Name, got, want[i])
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
