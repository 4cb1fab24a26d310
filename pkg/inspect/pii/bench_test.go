package pii_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/pii"
)

func readTestdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// benchInputs: ~16 KB of benign technical prose, a 4 KB prompt, and a text
// dense with personal data (repeated to ~16 KB).
func benchInputs(b *testing.B) []struct{ name, text string } {
	prompt := readTestdata(b, "prompt.txt")
	dense := readTestdata(b, "dense.txt")
	return []struct{ name, text string }{
		{"prose", readTestdata(b, "prose.txt")},
		{"prompt4k", prompt[:4096]},
		{"dense", strings.Repeat(dense, 16384/len(dense)+1)},
	}
}

func BenchmarkScan(b *testing.B) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			texts := []inspect.Text{{Field: "messages.0.content", Value: in.text}}
			n := 0
			emit := func(inspect.Finding) { n++ }
			ctx := context.Background()
			b.SetBytes(int64(len(in.text)))
			b.ReportAllocs()
			for b.Loop() {
				_ = d.Scan(ctx, texts, emit)
			}
			b.ReportMetric(float64(n)/float64(b.N), "findings/op")
		})
	}
}

// BenchmarkScanLarge is the 10 MB worst case: the prose repeated, and a
// run of digits and separators that keeps every parser busy.
func BenchmarkScanLarge(b *testing.B) {
	d, err := pii.New(pii.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const size = 10 << 20
	prose := readTestdata(b, "prose.txt")
	for _, in := range []struct{ name, text string }{
		{"prose10MB", strings.Repeat(prose, size/len(prose)+1)[:size]},
		{"digits10MB", strings.Repeat("0490 75 40 81.2:3:4:", size/20)},
		{"colons10MB", strings.Repeat("a:", size/2)},
	} {
		b.Run(in.name, func(b *testing.B) {
			texts := []inspect.Text{{Value: in.text}}
			b.SetBytes(int64(len(in.text)))
			b.ReportAllocs()
			for b.Loop() {
				_ = d.Scan(context.Background(), texts, func(inspect.Finding) {})
			}
		})
	}
}
