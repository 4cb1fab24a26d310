package inspect

import (
	"context"
	"strings"
)

// Piece is text an event of a stream adds to one of its channels: a
// streamed completion spreads its text over many events (a token or two
// each), so a secret is only ever seen whole across events.
type Piece struct {
	// Channel names the text the piece continues ("choices.0.delta.content",
	// "content.1"): pieces of one channel are read as one text.
	Channel string
	Text    string
}

// Released is an event the StreamRedactor lets go, with the text of each
// of its pieces after redaction (Masked[i] is nil when piece i is
// unchanged). Masked is parallel to the pieces given to Push, empty ones
// included.
type Released[E any] struct {
	Event  E
	Masked []*string
}

// StreamRedactor holds back the last Tail bytes of every channel of a
// stream, so that a secret up to Tail bytes long that spans events is
// found whole, and masked, before any event holding part of it is
// released. Events leave in order. Not safe for concurrent use: it is
// per-stream state.
type StreamRedactor[E any] struct {
	set    *Set
	only   func(string) bool
	redact func(*Finding) bool
	tail   int

	channels  map[string]*channel
	queue     []heldEvent[E]
	seen      map[findingKey]bool
	found     []Finding
	truncated bool
	failed    []DetectorError
}

type channel struct {
	name string
	// text holds the channel's text from offset base on: up to tail bytes
	// already released (context for the detectors), then the held text.
	text     []byte
	base     int
	released int      // absolute offset up to which text has left
	spans    [][2]int // redacted spans, absolute, sorted, merged
	scanned  int      // absolute end of the text at the last scan
	// closed: the stream said the channel ends (a content block stopped,
	// a choice finished); its last tail bytes need not wait for more.
	closed bool
}

type heldEvent[E any] struct {
	ev     E
	pieces []heldPiece
}

type heldPiece struct {
	ch         *channel // nil for an empty piece
	start, end int      // absolute
}

// findingKey identifies a finding across rescans of a growing text: a
// rescan may see more of the same match (a longer end), which is the same
// finding.
type findingKey struct {
	channel, detector, rule string
	start                   int
}

// maxHeldEvents bounds the events a stream may hold: a stream that sends
// text and then only keep-alives must not have them held until it ends.
const maxHeldEvents = 1024

// NewStreamRedactor returns a redactor over set. only selects the
// detectors that run (nil: all); redact selects the findings that are
// masked (the others are only reported). tail is the hold-back in bytes.
func NewStreamRedactor[E any](set *Set, tail int, only func(string) bool, redact func(*Finding) bool) *StreamRedactor[E] {
	return &StreamRedactor[E]{set: set, only: only, redact: redact, tail: max(tail, 1),
		channels: map[string]*channel{}, seen: map[findingKey]bool{}}
}

// Push adds an event and the pieces of text it carries, and returns the
// events that may now leave.
func (s *StreamRedactor[E]) Push(ctx context.Context, ev E, pieces []Piece) []Released[E] {
	h := heldEvent[E]{ev: ev}
	for _, p := range pieces {
		if p.Text == "" {
			h.pieces = append(h.pieces, heldPiece{}) // keeps Masked parallel to pieces
			continue
		}
		c := s.channels[p.Channel]
		if c == nil {
			c = &channel{name: p.Channel}
			s.channels[p.Channel] = c
		}
		start := c.base + len(c.text)
		c.text = append(c.text, p.Text...)
		h.pieces = append(h.pieces, heldPiece{ch: c, start: start, end: start + len(p.Text)})
	}
	s.queue = append(s.queue, h)
	if len(s.queue) > maxHeldEvents {
		// Too many events wait behind a channel that stopped growing and
		// was never closed: close every channel this event did not extend.
		// The one still growing keeps its hold-back, so no secret in it
		// leaves half seen.
		for _, c := range s.channels {
			if !c.closed && !h.extends(c) {
				c.closed = true
				if c.base+len(c.text) > c.scanned {
					s.scan(ctx, c)
				}
			}
		}
	}
	for _, c := range s.channels {
		// Scan when the held text has grown by half the tail since the
		// last scan: each byte is scanned a bounded number of times.
		if end := c.base + len(c.text); end-c.scanned >= s.tail/2+1 && end-c.released > s.tail {
			s.scan(ctx, c)
		}
	}
	return s.release(false)
}

func (h *heldEvent[E]) extends(c *channel) bool {
	for _, p := range h.pieces {
		if p.ch == c {
			return true
		}
	}
	return false
}

// Close says the channels whose names start with prefix have ended: their
// text is scanned to its end, and their events need not wait for more.
// A channel that is never closed holds its last tail bytes, and the
// events behind them, until Flush.
func (s *StreamRedactor[E]) Close(ctx context.Context, prefix string) []Released[E] {
	for name, c := range s.channels {
		if !c.closed && strings.HasPrefix(name, prefix) {
			c.closed = true
			if c.base+len(c.text) > c.scanned {
				s.scan(ctx, c)
			}
		}
	}
	return s.release(false)
}

// Flush scans what is held and releases every event: the stream ended.
func (s *StreamRedactor[E]) Flush(ctx context.Context) []Released[E] {
	for _, c := range s.channels {
		if c.base+len(c.text) > c.scanned {
			s.scan(ctx, c)
		}
	}
	return s.release(true)
}

// Findings returns every distinct finding so far. Field is the channel;
// Start and End are offsets in the channel's whole text.
func (s *StreamRedactor[E]) Findings() (fs []Finding, truncated bool, failed []DetectorError) {
	return s.found, s.truncated, s.failed
}

func (s *StreamRedactor[E]) scan(ctx context.Context, c *channel) {
	c.scanned = c.base + len(c.text)
	r := s.set.Scan(ctx, []Text{{Field: c.name, Value: string(c.text)}}, s.only)
	s.truncated = s.truncated || r.Truncated
	s.failed = append(s.failed, r.Failed...)
	for _, f := range r.Findings {
		f.Start += c.base
		f.End += c.base
		// Every span is masked, recorded or not: the cap bounds the
		// record, never the redaction.
		if s.redact != nil && s.redact(&f) {
			c.spans = mergeSpan(c.spans, [2]int{f.Start, f.End})
		}
		k := findingKey{c.name, f.Detector, f.Rule, f.Start}
		if s.seen[k] {
			continue
		}
		if len(s.found) >= MaxFindings {
			s.truncated = true
			continue
		}
		s.seen[k] = true
		s.found = append(s.found, f)
	}
}

// release lets go the events at the front of the queue whose text is
// more than tail bytes behind the last scan of its channel (all, when all).
func (s *StreamRedactor[E]) release(all bool) []Released[E] {
	var out []Released[E]
	n := 0
	for ; n < len(s.queue); n++ {
		h := s.queue[n]
		if !all {
			ready := true
			for _, p := range h.pieces {
				// Any secret of up to tail bytes that touches the piece
				// ends before p.end+tail: the last scan must have seen
				// that far, or to the end of a closed channel.
				if p.ch == nil || p.ch.closed && p.end <= p.ch.scanned {
					continue
				}
				if p.end+s.tail > p.ch.scanned {
					ready = false
					break
				}
			}
			if !ready {
				break
			}
		}
		r := Released[E]{Event: h.ev}
		if len(h.pieces) > 0 {
			r.Masked = make([]*string, len(h.pieces))
		}
		for i, p := range h.pieces {
			if p.ch == nil {
				continue
			}
			if m, changed := p.ch.mask(p.start, p.end); changed {
				r.Masked[i] = &m
			}
			p.ch.released = max(p.ch.released, p.end)
		}
		out = append(out, r)
	}
	s.queue = append(s.queue[:0], s.queue[n:]...)
	for _, c := range s.channels {
		c.trim(s.tail)
	}
	return out
}

// mask returns the channel's text in [start,end) with redacted spans
// replaced: the piece where a span starts carries its marker, later
// pieces lose the rest of the span.
func (c *channel) mask(start, end int) (string, bool) {
	seg := string(c.text[start-c.base : end-c.base])
	var b strings.Builder
	pos, changed := start, false
	for _, sp := range c.spans {
		if sp[1] <= pos || sp[0] >= end {
			continue
		}
		changed = true
		if sp[0] > pos {
			b.WriteString(seg[pos-start : sp[0]-start])
		}
		if sp[0] >= start {
			b.WriteString("[REDACTED]")
		}
		pos = min(sp[1], end)
	}
	if !changed {
		return seg, false
	}
	b.WriteString(seg[pos-start:])
	return b.String(), true
}

// trim drops released text older than tail bytes: it stays as context
// for the detectors, but nothing before it can be redacted any more.
func (c *channel) trim(tail int) {
	keep := c.released - tail
	if drop := keep - c.base; drop > 0 {
		c.text = append(c.text[:0], c.text[drop:]...)
		c.base = keep
	}
	for len(c.spans) > 0 && c.spans[0][1] <= c.base {
		c.spans = c.spans[1:]
	}
}

func mergeSpan(spans [][2]int, sp [2]int) [][2]int {
	out := spans[:0:0]
	placed := false
	for _, s := range spans {
		switch {
		case s[1] < sp[0]:
			out = append(out, s)
		case sp[1] < s[0]:
			if !placed {
				out = append(out, sp)
				placed = true
			}
			out = append(out, s)
		default:
			sp = [2]int{min(s[0], sp[0]), max(s[1], sp[1])}
		}
	}
	if !placed {
		out = append(out, sp)
	}
	return out
}
