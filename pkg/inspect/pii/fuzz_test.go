package pii_test

import (
	"context"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/pii"
)

// FuzzScan checks that Scan never panics and that its findings are sane:
// known rules with their severities, in-bounds non-empty spans that do not
// overlap, and each value found again when scanned on its own.
func FuzzScan(f *testing.F) {
	for _, cases := range loadCases(f) {
		for _, c := range cases {
			f.Add(c.Text)
		}
	}
	f.Add(readTestdata(f, "dense.txt"))
	f.Add(readTestdata(f, "prompt.txt")[:1024])
	d, err := pii.New(pii.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var found []inspect.Finding
		err := d.Scan(context.Background(), []inspect.Text{{Value: text}}, func(f inspect.Finding) {
			found = append(found, f)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > pii.MaxFindings {
			t.Fatalf("%d findings over the cap", len(found))
		}
		end := 0
		for _, f := range found {
			if f.Start < end || f.Start >= f.End || f.End > len(text) {
				t.Fatalf("%s: span %d..%d after %d in %d bytes", f.Rule, f.Start, f.End, end, len(text))
			}
			end = f.End
			if f.Severity < inspect.Low || f.Score <= 0 || f.Score > 1 {
				t.Fatalf("%s: severity %v score %v", f.Rule, f.Severity, f.Score)
			}
			// The value alone, with the spaces around it that the
			// boundary checks accept, is found again with the same rule.
			again := false
			value := " " + text[f.Start:f.End] + " "
			_ = d.Scan(context.Background(), []inspect.Text{{Value: value}}, func(g inspect.Finding) {
				again = again || g.Rule == f.Rule && g.Start == 1 && g.End == len(value)-1
			})
			if !again {
				t.Fatalf("%s %q found in context but not alone", f.Rule, text[f.Start:f.End])
			}
		}
	})
}
