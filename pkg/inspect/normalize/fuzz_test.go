package normalize

import "testing"

// FuzzNormalize: any input normalises without panicking, to valid UTF-8
// with in-bounds segments and source spans, and a reused Result gives
// the same output as a fresh one.
func FuzzNormalize(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.input(f))
	}
	n := New(Options{MinEncodedRun: 8})
	var reused Result
	f.Fuzz(func(t *testing.T, in string) {
		r := n.Normalize(in)
		checkInvariants(t, in, r)
		n.Into(&reused, in)
		if string(reused.Text) != string(r.Text) || len(reused.Segments) != len(r.Segments) {
			t.Fatalf("reused result differs: %q vs %q", reused.Text, r.Text)
		}
		if len(r.Text) > 20*len(in)+64 {
			t.Fatalf("output %d bytes for %d in", len(r.Text), len(in))
		}
	})
}
