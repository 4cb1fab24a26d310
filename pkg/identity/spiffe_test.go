package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSPIFFEID(t *testing.T) {
	valid := []struct {
		in       string
		td, path string
	}{
		{"spiffe://cluster.local/ns/agents/sa/code-reviewer", "cluster.local", "/ns/agents/sa/code-reviewer"},
		{"spiffe://example.org", "example.org", ""},
		{"spiffe://a_b-c.9/Path.With_All-Chars09", "a_b-c.9", "/Path.With_All-Chars09"},
		{"spiffe://td/...", "td", "/..."},
		{"spiffe://td/.a/a.", "td", "/.a/a."},
		{"spiffe://td/" + strings.Repeat("a", 2048-len("spiffe://td/")), "td", "/" + strings.Repeat("a", 2048-len("spiffe://td/"))},
	}
	for _, tt := range valid {
		t.Run("valid "+tt.in[:min(len(tt.in), 60)], func(t *testing.T) {
			id, err := ParseSPIFFEID(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if id.TrustDomain != tt.td || id.Path != tt.path {
				t.Fatalf("got %+v", id)
			}
			if id.String() != tt.in {
				t.Fatalf("String() = %q", id.String())
			}
		})
	}
	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"no scheme", "cluster.local/ns/a"},
		{"other scheme", "https://cluster.local/ns/a"},
		{"uppercase scheme", "SPIFFE://cluster.local/ns/a"},
		{"one slash", "spiffe:/cluster.local/ns/a"},
		{"empty trust domain", "spiffe:///ns/a"},
		{"uppercase trust domain", "spiffe://Cluster.local/ns/a"},
		{"port", "spiffe://cluster.local:8080/ns/a"},
		{"userinfo", "spiffe://user@cluster.local/ns/a"},
		{"query", "spiffe://cluster.local/ns/a?x=1"},
		{"fragment", "spiffe://cluster.local/ns/a#x"},
		{"query on trust domain", "spiffe://cluster.local?x"},
		{"trailing slash", "spiffe://cluster.local/ns/a/"},
		{"root path", "spiffe://cluster.local/"},
		{"double slash", "spiffe://cluster.local/ns//a"},
		{"dot segment", "spiffe://cluster.local/ns/./a"},
		{"dot-dot segment", "spiffe://cluster.local/ns/../a"},
		{"percent-encoding", "spiffe://cluster.local/ns/%61"},
		{"space", "spiffe://cluster.local/ns/a b"},
		{"non-ASCII", "spiffe://cluster.local/ns/é"},
		{"too long", "spiffe://td/" + strings.Repeat("a", 2048)},
	}
	for _, tt := range invalid {
		t.Run("invalid "+tt.name, func(t *testing.T) {
			if id, err := ParseSPIFFEID(tt.in); !errors.Is(err, ErrInvalidSPIFFEID) {
				t.Fatalf("got %+v, %v; want ErrInvalidSPIFFEID", id, err)
			}
		})
	}
}
