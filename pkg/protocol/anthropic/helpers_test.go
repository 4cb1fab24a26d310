package anthropic

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/tidwall/gjson"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPaths asserts that every Text's path resolves in body to its value.
func checkPaths(t testing.TB, body []byte, r *Request) {
	t.Helper()
	for _, x := range r.Texts {
		got := gjson.GetBytes(body, x.Path)
		if got.Type != gjson.String || got.Str != x.Value {
			t.Fatalf("path %q resolves to %s, want %q", x.Path, got.Raw, x.Value)
		}
	}
}

// feedStream feeds body to a Scanner in chunks cut at the given offsets and
// returns the StreamUsage after End.
func feedStream(t testing.TB, ep Endpoint, body []byte, cuts ...int) *StreamUsage {
	t.Helper()
	sc := sse.NewScanner(0)
	su := NewStreamUsage(ep)
	prev := 0
	for _, c := range append(cuts, len(body)) {
		evs, err := sc.Feed(body[prev:c])
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			su.Event(ev)
		}
		prev = c
	}
	if ev, ok := sc.End(); ok {
		su.Event(ev)
	}
	return su
}
