package inspect

import (
	"context"
	"strings"
	"testing"
)

type tok struct {
	id   int
	text string
}

// run feeds text to a StreamRedactor in events cut at cuts, and returns
// what the client receives, checking events leave in order, once each.
func run(t *testing.T, s *StreamRedactor[tok], text string, cuts []int) string {
	t.Helper()
	var out strings.Builder
	next := 0
	take := func(rs []Released[tok]) {
		for _, r := range rs {
			if r.Event.id != next {
				t.Fatalf("event %d released, want %d", r.Event.id, next)
			}
			next++
			piece := r.Event.text
			if len(r.Masked) == 1 && r.Masked[0] != nil {
				piece = *r.Masked[0]
			}
			out.WriteString(piece)
		}
	}
	prev := 0
	for i, c := range append(cuts, len(text)) {
		ev := tok{id: i, text: text[prev:c]}
		take(s.Push(context.Background(), ev, []Piece{{Channel: "c", Text: ev.text}}))
		prev = c
	}
	take(s.Flush(context.Background()))
	if next != len(cuts)+1 {
		t.Fatalf("released %d of %d events", next, len(cuts)+1)
	}
	return out.String()
}

func TestStreamRedactorSecretSplitAtEveryOffset(t *testing.T) {
	const secret = "AKIAZZSECRETVALUE9"
	text := strings.Repeat("lorem ipsum ", 20) + "the key is " + secret + " and" + strings.Repeat(" more text", 30)
	at := strings.Index(text, secret)
	set := NewSet(nil, literal{"secrets", []string{secret}})
	for tail := range []int{32, 64} {
		for i := at - 3; i <= at+len(secret)+3; i++ {
			for _, j := range []int{i + 1, i + 5, i + 17} {
				if j >= len(text) {
					continue
				}
				// Events of a few bytes, as a model streams tokens, with
				// cuts at i and j somewhere across the secret.
				cuts := []int{}
				for c := 4; c < len(text); c += 4 {
					if c != i && c != j {
						cuts = append(cuts, c)
					}
				}
				cuts = insertSorted(cuts, i, j)
				s := NewStreamRedactor[tok](set, []int{32, 64}[tail], nil, func(*Finding) bool { return true })
				got := run(t, s, text, cuts)
				if strings.Contains(got, "SECRET") || strings.Contains(got, "AKIA") {
					t.Fatalf("tail %d, cuts at %d,%d: secret leaked: %q", tail, i, j, got)
				}
				if want := strings.Replace(text, secret, "[REDACTED]", 1); got != want {
					t.Fatalf("tail %d, cuts at %d,%d:\n got %q\nwant %q", tail, i, j, got, want)
				}
				fs, _, _ := s.Findings()
				if len(fs) != 1 || fs[0].Start != at || fs[0].End != at+len(secret) || fs[0].Field != "c" {
					t.Fatalf("findings %+v", fs)
				}
			}
		}
	}
}

func insertSorted(xs []int, vs ...int) []int {
	for _, v := range vs {
		k := 0
		for k < len(xs) && xs[k] < v {
			k++
		}
		if k < len(xs) && xs[k] == v {
			continue
		}
		xs = append(xs[:k], append([]int{v}, xs[k:]...)...)
	}
	return xs
}

func TestStreamRedactorReportOnly(t *testing.T) {
	set := NewSet(nil, literal{"pii", []string{"alice@example.com"}})
	s := NewStreamRedactor[tok](set, 16, nil, func(*Finding) bool { return false })
	text := "write to alice@example.com please, and to no one else at all"
	got := run(t, s, text, []int{5, 12, 20, 30})
	if got != text {
		t.Fatalf("report-only changed the stream: %q", got)
	}
	if fs, _, _ := s.Findings(); len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
}

func TestStreamRedactorHoldsBoundedText(t *testing.T) {
	set := NewSet(nil, literal{"secrets", []string{"never"}})
	s := NewStreamRedactor[tok](set, 64, nil, func(*Finding) bool { return true })
	held := 0
	for i := range 10000 {
		rs := s.Push(context.Background(), tok{id: i, text: "abcd"}, []Piece{{Channel: "c", Text: "abcd"}})
		held += 1 - len(rs)
		if c := s.channels["c"]; len(c.text) > 4*64 {
			t.Fatalf("event %d: %d bytes held for a tail of 64", i, len(c.text))
		}
		if held > 64 {
			t.Fatalf("event %d: %d events held", i, held)
		}
	}
}

func TestStreamRedactorEventsWithoutText(t *testing.T) {
	set := NewSet(nil, literal{"secrets", []string{"x"}})
	s := NewStreamRedactor[tok](set, 8, nil, nil)
	// Nothing held: an event without text leaves at once.
	if rs := s.Push(context.Background(), tok{id: 0}, nil); len(rs) != 1 {
		t.Fatalf("released %d", len(rs))
	}
	// Behind held text, it waits its turn.
	s.Push(context.Background(), tok{id: 1, text: "ab"}, []Piece{{Channel: "c", Text: "ab"}})
	if rs := s.Push(context.Background(), tok{id: 2}, nil); len(rs) != 0 {
		t.Fatalf("overtook held text: %+v", rs)
	}
	if rs := s.Flush(context.Background()); len(rs) != 2 || rs[0].Event.id != 1 || rs[1].Event.id != 2 {
		t.Fatalf("flush: %+v", rs)
	}
}

// A channel that stops growing (a content block that ended) must not hold
// back the events of the next one: Close releases it, and without Close
// the stream still moves after maxHeldEvents, never leaking a secret that
// sits at the end of the stalled channel.
func TestStreamRedactorStalledChannel(t *testing.T) {
	const secret = "SECRETWORD12345678"
	set := NewSet(nil, literal{"s", []string{secret}})
	for _, closeIt := range []bool{true, false} {
		s := NewStreamRedactor[tok](set, 64, nil, func(*Finding) bool { return true })
		var out strings.Builder
		released := 0
		take := func(rs []Released[tok]) {
			for _, r := range rs {
				released++
				if len(r.Masked) == 1 && r.Masked[0] != nil {
					out.WriteString(*r.Masked[0])
				} else {
					out.WriteString(r.Event.text)
				}
			}
		}
		first := "block zero ends with " + secret
		for i := 0; i < len(first); i += 4 {
			p := first[i:min(i+4, len(first))]
			take(s.Push(context.Background(), tok{id: released, text: p}, []Piece{{Channel: "content.0.text", Text: p}}))
		}
		if closeIt {
			take(s.Close(context.Background(), "content.0."))
		}
		for i := range 2 * maxHeldEvents {
			take(s.Push(context.Background(), tok{id: i, text: "x"}, []Piece{{Channel: "content.1.text", Text: "x"}}))
		}
		if closeIt && released < 2*maxHeldEvents-64 { // all but the growing channel's hold-back
			t.Fatalf("closed: only %d events released", released)
		}
		if !closeIt && released < maxHeldEvents {
			t.Fatalf("never closed: only %d events released", released)
		}
		take(s.Flush(context.Background()))
		if strings.Contains(out.String(), "SECRET") || strings.Contains(out.String(), "12345678") {
			t.Fatalf("close=%v: secret leaked", closeIt)
		}
	}
}
