package injection

import (
	"context"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// FuzzScan: any text scans without panicking, and every finding is
// well-formed and inside the text.
func FuzzScan(f *testing.F) {
	for _, c := range loadDetectorCases(f) {
		f.Add(c.Text)
	}
	d, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		err := d.Scan(context.Background(), []inspect.Text{{Value: text}}, func(fd inspect.Finding) {
			if fd.Start < 0 || fd.End < fd.Start || fd.End > len(text) || fd.Score < d.Threshold() || fd.Score > 1 || fd.Rule == "" {
				t.Fatalf("bad finding %+v for %d bytes", fd, len(text))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if p, start, end := d.Score(text); p < 0 || p > 1 || start < 0 || end < start || end > len(text) {
			t.Fatalf("Score = %v, %d, %d", p, start, end)
		}
	})
}
