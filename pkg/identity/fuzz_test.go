package identity

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func FuzzParseXFCC(f *testing.F) {
	b, err := os.ReadFile("testdata/xfcc.json")
	if err != nil {
		f.Fatal(err)
	}
	var seeds []struct{ Header string }
	if err := json.Unmarshal(b, &seeds); err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s.Header)
	}
	f.Fuzz(func(t *testing.T, v string) {
		els, err := ParseXFCC(v)
		if err != nil {
			if !errors.Is(err, ErrMalformedXFCC) || els != nil {
				t.Fatalf("error %v does not wrap ErrMalformedXFCC, or elements returned", err)
			}
			return
		}
		if len(els) == 0 || len(els) > MaxXFCCElements {
			t.Fatalf("%d elements", len(els))
		}
		// Round trip: what we parsed, re-encoded in Envoy's format, parses
		// to the same elements. Envoy's format cannot quote a value that
		// ends in a backslash (its closing quote would read as \"), so
		// those are skipped.
		if endsInBackslash(els) {
			return
		}
		again, err := ParseXFCC(encodeXFCC(els))
		if err != nil {
			// Re-encoding may exceed the size bound by adding quotes.
			if len(encodeXFCC(els)) > MaxXFCCSize {
				return
			}
			t.Fatalf("re-encoded %q: %v", encodeXFCC(els), err)
		}
		if !reflect.DeepEqual(norm(els), norm(again)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, els)
		}
	})
}

// encodeXFCC writes elements with every value quoted, the way Envoy would.
func encodeXFCC(els []XFCCElement) string {
	var b strings.Builder
	q := func(k, v string) {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), ",") {
			b.WriteByte(';')
		}
		b.WriteString(k + `="` + strings.ReplaceAll(v, `"`, `\"`) + `"`)
	}
	for i, el := range els {
		if i > 0 {
			b.WriteByte(',')
		}
		for _, v := range el.By {
			q("By", v)
		}
		q("Hash", el.Hash)
		q("Cert", el.Cert)
		q("Chain", el.Chain)
		q("Subject", el.Subject)
		for _, v := range el.URI {
			q("URI", v)
		}
		for _, v := range el.DNS {
			q("DNS", v)
		}
	}
	return b.String()
}

func endsInBackslash(els []XFCCElement) bool {
	for _, el := range els {
		vals := append([]string{el.Hash, el.Cert, el.Chain, el.Subject}, el.By...)
		vals = append(append(vals, el.URI...), el.DNS...)
		for _, v := range vals {
			if strings.HasSuffix(v, `\`) {
				return true
			}
		}
	}
	return false
}

// norm makes nil and empty slices compare equal.
func norm(els []XFCCElement) []XFCCElement {
	out := make([]XFCCElement, len(els))
	for i, el := range els {
		for _, p := range []*[]string{&el.By, &el.URI, &el.DNS} {
			if len(*p) == 0 {
				*p = nil
			}
		}
		out[i] = el
	}
	return out
}

func FuzzParseSPIFFEID(f *testing.F) {
	for _, s := range []string{
		"spiffe://cluster.local/ns/agents/sa/code-reviewer", "spiffe://td", "spiffe://td/", "spiffe://td/a/../b",
		"spiffe://TD/a", "spiffe://td:1/a", "spiffe://u@td/a", "spiffe://td/a?b#c", "https://td/a", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSPIFFEID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSPIFFEID) || id != (SPIFFEID{}) {
				t.Fatalf("error %v does not wrap ErrInvalidSPIFFEID, or ID returned", err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("String() = %q, input %q", id.String(), s)
		}
		again, err := ParseSPIFFEID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
