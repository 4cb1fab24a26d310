package secrets

import (
	"math/rand/v2"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// btFind is FindStringSubmatchIndex on the backtracker.
func btFind(m *btm, p *bprog, s string) []int {
	if !m.reset(p, s, 0, len(s)+1) {
		return nil
	}
	for i := 0; ; {
		if m.at(i) {
			g := slices.Clone(m.caps)
			g[0], g[1] = i, m.end
			return g
		}
		if i >= len(s) {
			return nil
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
}

// testTexts are inputs for the differential tests: the prose, the
// semantics cases, and a few built to cross anchors and boundaries.
func testTexts(t testing.TB) []string {
	t.Helper()
	prose, err := os.ReadFile("testdata/prose.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"", "\n", "a", "key=", "\xff\xfe", "ſecret: K3y_Zx8Qp3Lm9Vt2Wr7Ky4Nb"}
	for i := 0; i+400 <= len(prose); i += 400 {
		out = append(out, string(prose[i:i+400]))
	}
	for _, c := range readJSON[[]scanCase](t, "semantics.json") {
		out = append(out, c.Text)
	}
	for _, c := range readJSON[[]scanCase](t, "default.json") {
		out = append(out, c.Text, "\n"+c.Text+"\n", "x"+c.Text+"x")
	}
	return out
}

// TestBacktrackMatchesRegexp holds the backtracker to Go's regexp on every
// default rule and allowlist regex.
func TestBacktrackMatchesRegexp(t *testing.T) {
	d := defaultDetector(t)
	testTexts := testTexts(t)
	texts := testTexts
	corpus := corpusTexts(t)
	var m btm
	matches := func(id string, x *matcher, texts []string) {
		for i, s := range texts {
			variants := []string{s}
			if i < len(testTexts) {
				variants = append(variants, strings.ToUpper(s), strings.ReplaceAll(s, "k", "\u212a"))
			}
			for _, s := range variants {
				if got, want := x.match(&m, s), x.re.MatchString(s); got != want {
					t.Errorf("%s on %.80q: %v, regexp %v", id, s, got, want)
				}
			}
		}
	}
	check := func(id string, re *regexp.Regexp, p *bprog, keywords []string) {
		if p == nil {
			return
		}
		for i, s := range slices.Concat(texts, corpus) {
			if i >= len(texts) && !hasAny(s, keywords) {
				continue // Go's regexp is slow on these; test where rules run
			}
			want := re.FindStringSubmatchIndex(s)
			if got := btFind(&m, p, s); !slices.Equal(got, want) {
				t.Errorf("%s on %.80q: backtracker %v, regexp %v", id, s, got, want)
			}
		}
	}
	n := 0
	for _, r := range d.rules {
		if r.bt != nil {
			n++
		}
		check(r.id, r.re, r.bt, r.keywords)
		for _, a := range r.allow {
			if a.regex != nil {
				check(r.id+" allowlist", a.regex.re, a.regex.bt, r.keywords)
				var own []string
				for _, c := range corpus {
					if hasAny(c, r.keywords) {
						own = append(own, c)
					}
				}
				matches(r.id+" allowlist", a.regex, slices.Concat(texts, own))
			}
		}
	}
	for _, a := range d.global {
		check("global allowlist", a.regex.re, a.regex.bt, []string{""})
		matches("global allowlist", a.regex, slices.Concat(texts, corpus))
	}
	t.Logf("%d of %d rules run on the backtracker", n, len(d.rules))
}

func hasAny(s string, keywords []string) bool {
	low := strings.ToLower(s)
	for _, k := range keywords {
		if strings.Contains(low, k) {
			return true
		}
	}
	return false
}

func corpusTexts(t testing.TB) []string {
	if _, err := os.Stat("../../../../shared/corpora/secrets"); err != nil {
		return nil
	}
	var out []string
	for i, s := range corpusSamples(t) {
		if !raceOn || i%5 == 0 {
			out = append(out, s.Text)
		}
	}
	return out
}

// TestBacktrackConstructs covers regex forms the default rules do not use.
func TestBacktrackConstructs(t *testing.T) {
	patterns := []string{
		`a*?b`, `(a|ab)(c|bcd)(d*)`, `(?i)k+`, `(?m)^x$`, `^$`, `\Bfoo\B`, `(?s).{2,4}?z`,
		`(?:ab){2,3}`, `(?:a|b)+c`, `x(?:y(z)?)?`, `[^a-c]{1,3}`, `(?U)a+`, `a{0}b`, `(a)|b`,
		`\A\z`, `(?:(a)|(b))+`, `[α-ω]+`, `(?i)straße`, `\pL{2}`,
	}
	texts := []string{"", "ab", "abcd", "aab", "xyzz", "KkK", "x\ny\nx", "foo", "afoob", "ababab", "abababc",
		"\xffz", "αβγ", "STRASSE straße", "ſK", "bab", "dcba"}
	var m btm
	for _, src := range patterns {
		re := regexp.MustCompile(src)
		parsed, _ := syntax.Parse(src, syntax.Perl)
		p, ok := compileBacktrack(parsed)
		if !ok {
			continue
		}
		for _, s := range texts {
			if got, want := btFind(&m, p, s), re.FindStringSubmatchIndex(s); !slices.Equal(got, want) {
				t.Errorf("%s on %q: %v, regexp %v", src, s, got, want)
			}
		}
	}
}

// TestAutomaton checks the four-way keyword scan against a plain search.
func TestAutomaton(t *testing.T) {
	kws := []string{"key", "ey", "api", "sk", "ghp_", "-----begin", "a3-", "xoxb", "aaaa"}
	a := newAutomaton(kws, []byte(foldLeads))
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"key", "KEY", "Ey", "api", "aPi", "sK", "ghp_", "-----BEGIN", "a3-", "xoxb", "a", "aa", " ", "x", "\u212a", "é"}
	for iter := 0; iter < 300; iter++ {
		var b strings.Builder
		for b.Len() < rng.IntN(3000) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := b.String()
		seen := make([]uint64, 1)
		hits, full, flagged, wide := a.scan(text, nil, 1<<20, seen)
		var want []hit
		for i := 0; i < len(text); i++ {
			for id, k := range kws {
				if i+len(k) <= len(text) && strings.EqualFold(text[i:i+len(k)], k) && isASCII(text[i:i+len(k)]) {
					want = append(want, hit{kw: int32(id), end: int32(i + len(k))})
				}
			}
		}
		order := func(x, y hit) int {
			if x.end != y.end {
				return int(x.end - y.end)
			}
			return int(x.kw - y.kw)
		}
		slices.SortFunc(hits, order)
		slices.SortFunc(want, order)
		if !slices.Equal(hits, want) || full {
			t.Fatalf("text %q:\nhits %v\nwant %v", text, hits, want)
		}
		if flagged != strings.Contains(text, "\u212a") {
			t.Fatalf("flagged %v for %q", flagged, text)
		}
		if wide != !isASCII(text) {
			t.Fatalf("wide %v for %q", wide, text)
		}
	}
}

// TestGatedMatchesWholeText builds texts from fragments of secrets, key
// names and separators, and compares the gated scan with the whole-text
// one: the windows must lose nothing and add nothing.
func TestGatedMatchesWholeText(t *testing.T) {
	d := defaultDetector(t)
	ref := naive(t, mustDefault(t))
	frags := []string{
		"api_key", "API key", "token", "secret", "password", "passwd", "auth", "access", "credential", "client_secret",
		" = ", "=", ": ", ":", "=>", " := ", ",", "\"", "'", "`", " ", "\n", "\t", ";", "\\n", "|| ",
		"Zx8Qp3Lm9Vt2Wr7Ky4Nb", "aaaaaaaaaaaa", "example", "0123456789abcdef0123", "my-value.with=dots",
		"ghp_8ZmQh2vT5kL9pRw3XyA7bN4cJ6dF1gH0sE2u", "AKIALALEMEL33243OLIB", "AKIAIOSFODNN7EXAMPLE",
		"xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "sk-ant-api03-", "eyJhbGciOiJIUzI1NiJ9",
		"-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8Vg2Zl9iAqN3xOeL8rGZ2Vb8s",
		"curl -H \"Authorization: Bearer ", "kind: Secret", "data:", "  pw: ", "c2VjcmV0dmFsdWUxMjM0NQ==",
		"https://", "hooks.slack.com/services/", "sq0atp-", "glpat-", "\u212a", "ſ", "é", "\xff",
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 3000
	if raceOn {
		n = 500
	}
	for range n {
		var b strings.Builder
		for n := 1 + rng.IntN(40); n > 0; n-- {
			b.WriteString(frags[rng.IntN(len(frags))])
		}
		text := b.String()
		if got, want := scan(t, d, text), scan(t, ref, text); !slices.Equal(got, want) {
			t.Fatalf("%q:\ngated      %v\nwhole text %v", text, got, want)
		}
	}
}
