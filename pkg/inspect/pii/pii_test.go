package pii_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/pii"
)

type want struct {
	Rule  string `json:"rule"`
	Value string `json:"value"`
}

type tableCase struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Want []want `json:"want"`
}

// loadCases reads every testdata/cases/*.json file, keyed by file name.
func loadCases(tb testing.TB) map[string][]tableCase {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no case files: %v", err)
	}
	out := map[string][]tableCase{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var cs []tableCase
		if err := json.Unmarshal(raw, &cs); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = cs
	}
	return out
}

func TestCases(t *testing.T) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for file, cases := range loadCases(t) {
		t.Run(file, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					found := scanOne(t, d, c.Text)
					slices.SortFunc(found, func(a, b inspect.Finding) int { return a.Start - b.Start })
					got := make([]want, len(found))
					for k, f := range found {
						got[k] = want{f.Rule, c.Text[f.Start:f.End]}
					}
					if c.Want == nil {
						c.Want = []want{}
					}
					if !slices.Equal(got, c.Want) {
						t.Errorf("%q:\n got %v\nwant %v", c.Text, got, c.Want)
					}
				})
			}
		})
	}
}

// TestFindingFields checks what every finding carries.
func TestFindingFields(t *testing.T) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	severity := map[string]inspect.Severity{
		pii.CreditCard: inspect.High, pii.IBAN: inspect.High, pii.USSSN: inspect.High,
		pii.Email: inspect.Medium, pii.Phone: inspect.Medium, pii.IPAddress: inspect.Low,
	}
	texts := []inspect.Text{
		{Field: "a", Value: "nothing here"},
		{Field: "b", Value: readTestdata(t, "dense.txt")},
	}
	seen := map[string]bool{}
	err = d.Scan(context.Background(), texts, func(f inspect.Finding) {
		seen[f.Rule] = true
		if f.Text != 1 {
			t.Errorf("finding in text %d, want 1", f.Text)
		}
		if f.Severity != severity[f.Rule] {
			t.Errorf("%s: severity %v, want %v", f.Rule, f.Severity, severity[f.Rule])
		}
		if f.Score <= 0 || f.Score > 1 {
			t.Errorf("%s: score %v", f.Rule, f.Score)
		}
		if f.Detector != "" || f.Field != "" || f.Hash != "" {
			t.Errorf("%s: fields the Set owns are set: %+v", f.Rule, f)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pii.Entities() {
		if !seen[r] {
			t.Errorf("dense.txt has no %s finding", r)
		}
	}
	if d.Name() != "pii" {
		t.Errorf("Name() = %q", d.Name())
	}
}

func TestNewOptions(t *testing.T) {
	_, err := pii.New(pii.Options{Entities: []string{"email", "passport", "iban", "CREDIT_CARD"}})
	if err == nil || !strings.Contains(err.Error(), `"passport"`) || !strings.Contains(err.Error(), `"CREDIT_CARD"`) {
		t.Fatalf("unknown entities: err = %v, want one naming both", err)
	}
	dense := readTestdata(t, "dense.txt")
	for _, rule := range pii.Entities() {
		d, err := pii.New(pii.Options{Entities: []string{rule}})
		if err != nil {
			t.Fatal(err)
		}
		found := scanOne(t, d, dense)
		if len(found) == 0 {
			t.Errorf("%s alone: no findings in dense.txt", rule)
		}
		for _, f := range found {
			if f.Rule != rule {
				t.Errorf("%s alone: reported %s", rule, f.Rule)
			}
		}
	}
}

func TestMaxFindings(t *testing.T) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	one := strings.Repeat("a@example.com 10.0.0.1 ", pii.MaxFindings)
	texts := []inspect.Text{{Value: one}, {Value: one}}
	n := 0
	if err := d.Scan(context.Background(), texts, func(inspect.Finding) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != pii.MaxFindings {
		t.Errorf("%d findings, want the cap %d", n, pii.MaxFindings)
	}
}

// TestHostileInputs runs the inputs that stress the scanners: 10 MB runs
// and invalid UTF-8. Times are the benchmarks' business; this checks the
// findings stay sane.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MB inputs")
	}
	d, err := pii.New(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const size = 10 << 20
	for _, in := range []struct{ name, unit string }{
		{"digits", "0490 75 40 81.2:3:4:"},
		{"colons", "a:"},
		{"ats", "a@"},
		{"labels", "a."},
		{"one run", "7"},
		{"hex", "ffff:"},
		{"invalid utf8", "\xff\xfe4111\xc0 1111\x80"},
		{"groups", "4111 "},
		{"dotted", "1."},
		{"utf8 mix", "é4111111111111111é"},
	} {
		t.Run(in.name, func(t *testing.T) {
			text := "x@" + strings.Repeat(in.unit, size/len(in.unit))
			for _, f := range scanOne(t, d, text) {
				if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
					t.Fatalf("bad span %d..%d", f.Start, f.End)
				}
			}
		})
	}
}

// TestConcurrentScan shares one Detector between goroutines (run with
// -race): each must see the findings a lone scan sees.
func TestConcurrentScan(t *testing.T) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dense := readTestdata(t, "dense.txt")
	want := len(scanOne(t, d, dense))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := len(scanOne(t, d, dense)); got != want {
					t.Errorf("%d findings, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
