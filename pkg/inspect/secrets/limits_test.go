package secrets

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

func scanErr(d *Detector, ctx context.Context, texts ...string) (int, error) {
	in := make([]inspect.Text, len(texts))
	for i, s := range texts {
		in[i] = inspect.Text{Value: s}
	}
	n := 0
	err := d.Scan(ctx, in, func(inspect.Finding) { n++ })
	return n, err
}

func TestMaxFindings(t *testing.T) {
	d := defaultDetector(t)
	var b strings.Builder
	rng := rand.New(rand.NewPCG(3, 4))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for range MaxFindings + 50 {
		b.WriteString("ghp_")
		for range 36 {
			b.WriteByte(alnum[rng.IntN(len(alnum))])
		}
		b.WriteByte('\n')
	}
	n, err := scanErr(d, context.Background(), b.String())
	if !errors.Is(err, ErrLimit) || n != MaxFindings {
		t.Fatalf("%d findings, err %v; want %d and ErrLimit", n, err, MaxFindings)
	}
	if strings.Contains(err.Error(), "ghp_") {
		t.Fatalf("error holds input: %v", err)
	}
}

func TestContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanErr(defaultDetector(t), ctx, "AKIALALEMEL33243OLIB"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

// TestLargeText: 10 MB of keyword-rich prose scans within its budget and
// still finds a secret at the very end.
func TestLargeText(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MB")
	}
	prose, err := os.ReadFile("testdata/prose.txt")
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat(string(prose), 10<<20/len(prose)) + "\naws AKIALALEMEL33243OLIB"
	n, err := scanErr(defaultDetector(t), context.Background(), big)
	if err != nil || n != 1 {
		t.Fatalf("%d findings, err %v", n, err)
	}
}

// TestHostileText: inputs built to make a rule or the gate work hard end
// with findings or ErrLimit, never a hang or a crash; the time they take
// is left to BenchmarkHostile.
func TestHostileText(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	d := defaultDetector(t)
	for name, text := range hostile(512 << 10) {
		t.Run(name, func(t *testing.T) {
			n, err := scanErr(d, context.Background(), text)
			t.Logf("%s: %d findings, err %v", name, n, err)
			if err != nil && !errors.Is(err, ErrLimit) {
				t.Fatal(err)
			}
			if err != nil && strings.Contains(err.Error(), text[:16]) {
				t.Fatalf("error holds input: %v", err)
			}
		})
	}
}

// hostile returns texts of about n bytes that stress one part each.
func hostile(n int) map[string]string {
	rep := func(s string) string { return strings.Repeat(s, n/len(s)+1)[:n] }
	return map[string]string{
		"one byte":              rep("a"),
		"keyword soup":          rep("key token secret api auth password access credential "),
		"dense short keyword":   rep("ey"),
		"private key headers":   rep("-----BEGIN RSA PRIVATE KEY-----\n"),
		"low-entropy values":    rep("api_key = aaaaaaaaaaaaaaaa\n"),
		"unterminated runs":     "ghp_" + rep("A"),
		"curl without end":      rep("curl -H "),
		"generic matches":       rep("password = Zx8Qp3Lm9Vt2Wr7Ky4Nb\n"),
		"base64 blob":           rep("QUtJQUxBTEVNRUwzMzI0M09MSUI="),
		"kubernetes look-alike": rep("kind: Secret\ndata:\n  k: "),
		"wide runes":            rep("ключ=ſecret\u212aey "),
		"invalid bytes":         rep("key=\xff\xfe\xc3"),
	}
}
