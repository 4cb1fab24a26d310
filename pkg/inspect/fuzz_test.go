package inspect

import (
	"context"
	"strings"
	"testing"
)

// FuzzStreamRedactor: however a text is cut into events, the client reads
// the text with every occurrence of the secret masked, events in order,
// and nothing else changed.
func FuzzStreamRedactor(f *testing.F) {
	f.Add("prefix SECRETWORD suffix", []byte{3, 9, 1, 200}, uint8(16))
	f.Add("SECRETWORDSECRETWORD and SECRETWORD", []byte{1, 1, 1}, uint8(1))
	f.Add(strings.Repeat("x", 300)+"SECRETWORD", []byte{50, 50, 50, 50}, uint8(64))
	f.Fuzz(func(t *testing.T, text string, cuts []byte, tail uint8) {
		const secret = "SECRETWORD"
		set := NewSet(nil, literal{"s", []string{secret}})
		s := NewStreamRedactor[int](set, int(tail)+len(secret), nil, func(*Finding) bool { return true })
		var pieces []string
		rest := text
		for _, c := range cuts {
			if rest == "" {
				break
			}
			n := min(int(c)%32+1, len(rest))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		pieces = append(pieces, rest)
		var out strings.Builder
		next := 0
		take := func(rs []Released[int]) {
			for _, r := range rs {
				if r.Event != next {
					t.Fatalf("event %d released, want %d", r.Event, next)
				}
				next++
				if len(r.Masked) == 1 && r.Masked[0] != nil {
					out.WriteString(*r.Masked[0])
				} else {
					out.WriteString(pieces[r.Event])
				}
			}
		}
		for i, p := range pieces {
			take(s.Push(context.Background(), i, []Piece{{Channel: "c", Text: p}}))
		}
		take(s.Flush(context.Background()))
		if next != len(pieces) {
			t.Fatalf("%d of %d events released", next, len(pieces))
		}
		// Adjacent matches merge under one marker.
		want := strings.ReplaceAll(text, secret, "[REDACTED]")
		for strings.Contains(want, "[REDACTED][REDACTED]") {
			want = strings.ReplaceAll(want, "[REDACTED][REDACTED]", "[REDACTED]")
		}
		if out.String() != want {
			t.Fatalf("got %q\nwant %q", out.String(), want)
		}
	})
}
