package secrets

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

func prose(b *testing.B) string {
	p, err := os.ReadFile("testdata/prose.txt")
	if err != nil {
		b.Fatal(err)
	}
	return string(p)
}

func benchScan(b *testing.B, d *Detector, text string) {
	texts := []inspect.Text{{Value: text}}
	ctx := context.Background()
	n := 0
	emit := func(inspect.Finding) { n++ }
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Scan(ctx, texts, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "findings/op")
}

// BenchmarkScanProse: 16 KB of benign technical prose dense with the
// generic rule's keywords (key, token, secret, password, API, access,
// auth).
func BenchmarkScanProse(b *testing.B) {
	benchScan(b, defaultDetector(b), prose(b))
}

// Benchmark4KBPrompt: 4 KB of the prose with one secret in the middle.
func Benchmark4KBPrompt(b *testing.B) {
	p := prose(b)
	for _, c := range []struct{ name, secret string }{
		{"none", ""},
		{"github-pat", " Use the token ghp_8ZmQh2vT5kL9pRw3XyA7bN4cJ6dF1gH0sE2u for the clone. "},
		{"aws", " The key id is AKIALALEMEL33243OLIB, rotate it. "},
		{"generic-password", "\npassword = \"Zx8Qp3Lm9Vt2Wr7Ky4Nb\"\n"},
	} {
		text := (p[:2000] + c.secret + p[2000:])[:4096]
		b.Run(c.name, func(b *testing.B) { benchScan(b, defaultDetector(b), text) })
	}
}

// BenchmarkAutomaton is the keyword prefilter alone.
func BenchmarkAutomaton(b *testing.B) {
	d := defaultDetector(b)
	text := prose(b)
	seen := make([]uint64, (len(d.kwLen)+63)/64)
	var hits []hit
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		hits, _, _, _ = d.kw.scan(text, hits[:0], 1<<20, seen)
	}
}

// BenchmarkHostile: 1 MB inputs built to make one part work hard.
func BenchmarkHostile(b *testing.B) {
	d := defaultDetector(b)
	for name, text := range hostile(1 << 20) {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			texts := []inspect.Text{{Value: text}}
			for b.Loop() {
				_ = d.Scan(context.Background(), texts, func(inspect.Finding) {})
			}
		})
	}
}

// BenchmarkDefault is building the detector from the default rules.
func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}
