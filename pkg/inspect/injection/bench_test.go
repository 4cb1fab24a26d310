package injection

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

func readTestdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func benchScan(b *testing.B, text string) {
	d, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	texts := []inspect.Text{{Field: "messages.0.content", Value: text}}
	ctx := context.Background()
	emit := func(inspect.Finding) {}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Scan(ctx, texts, emit); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanProse is normaliser and detector on ~16 KB of benign
// English prose.
func BenchmarkScanProse(b *testing.B) { benchScan(b, readTestdata(b, "prose.txt")) }

// BenchmarkScanPrompt4K is one 4 KB benign prompt.
func BenchmarkScanPrompt4K(b *testing.B) { benchScan(b, readTestdata(b, "prompt4k.txt")[:4096]) }
