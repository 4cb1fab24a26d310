package sse

import (
	"bytes"
	"errors"
	"slices"
)

// ErrEventTooLarge is returned by Feed once an event grows beyond the
// scanner's maxEvent bytes. The scanner then stays failed: the stream can no
// longer be inspected and the caller must apply its failure mode.
var ErrEventTooLarge = errors.New("sse: event exceeds the size limit")

// DefaultMaxEvent is the event size limit NewScanner uses when given <= 0.
const DefaultMaxEvent = 1 << 20

// minSlab is the smallest buffer the scanner allocates: small chunks then
// share one allocation instead of costing one each.
const minSlab = 4 << 10

// bom is the UTF-8 byte order mark, skipped at the very start of a stream.
const bom = "\xEF\xBB\xBF"

// Scanner splits a text/event-stream into events. Not safe for concurrent
// use: one Scanner per stream.
//
// Its buffer holds only the current incomplete event; buf[0] is that event's
// first byte. Bytes before len(buf) that were handed out as Raw are never
// written again: a full buffer is replaced, not compacted, so returned
// events stay valid without a copy each.
type Scanner struct {
	max int
	buf []byte
	err error

	line     int  // offset in buf of the first byte of the next unprocessed line
	searched int  // buf[line:searched] is known to hold no line ending
	bomDone  bool // the start of the stream has been checked for a BOM

	// The block being built. Single-line data (the common case) is kept as
	// offsets into buf and aliased, not copied; more lines join into data.
	name, id, retry string
	dataLines       int
	dataStart       int
	dataEnd         int
	data            []byte
	lastID          string

	// scratch collects one Feed's events; the caller gets an exact-size copy.
	scratch []Event
}

// NewScanner returns a Scanner that holds at most maxEvent bytes of one
// event (DefaultMaxEvent if maxEvent <= 0).
func NewScanner(maxEvent int) *Scanner {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Scanner{max: maxEvent}
}

// Feed appends chunk and returns the events completed by it, in order. Bytes
// of an incomplete event are retained for the next call. Each Event.Raw is
// the exact bytes of the event including its terminating blank line, so the
// concatenation of every Raw plus Pending() is the input.
//
// A CR at the very end of chunk may be the first half of a CRLF, so a blank
// line ended by it completes its event only with the next byte, or with End.
//
// When an event exceeds the limit, Feed returns the events completed before
// it and ErrEventTooLarge, and every later call fails the same way.
// Feed does not retain chunk.
func (s *Scanner) Feed(chunk []byte) ([]Event, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.append(chunk)
	if !s.bomDone && !s.skipBOM() {
		return nil, s.checkPending()
	}

	events := s.scratch[:0]
	defer func() { clear(events); s.scratch = events[:0] }()
	start := 0       // first byte of the event being scanned
	lf, cr := -2, -2 // next LF and CR at or after the search point; -2 unknown, -1 none
	for {
		from := max(s.line, s.searched)
		if lf != -1 && lf < from {
			lf = indexFrom(s.buf, from, '\n')
		}
		if cr != -1 && cr < from {
			cr = indexFrom(s.buf, from, '\r')
		}
		end := lf
		if cr >= 0 && (end < 0 || cr < end) {
			end = cr
		}
		if end < 0 {
			s.searched = len(s.buf)
			break
		}
		next := end + 1
		if s.buf[end] == '\r' {
			if next == len(s.buf) {
				// CR or CRLF? Only the next byte tells.
				s.searched = end
				break
			}
			if s.buf[next] == '\n' {
				next++
			}
		}
		lineStart := s.line
		s.line, s.searched = next, next
		if lineStart < end {
			s.field(lineStart, end)
			continue
		}
		if next-start > s.max {
			s.err = ErrEventTooLarge
			s.consume(start) // Pending is then the oversized event onward
			return slices.Clone(events), s.err
		}
		events = append(events, s.dispatch(start, next))
		start = next
	}
	s.consume(start)
	return slices.Clone(events), s.checkPending()
}

// End is for the end of the stream. If the held bytes are an event whose
// terminating blank line ended with a lone CR (which Feed cannot tell from
// the start of a CRLF), End returns it and drops it from Pending. Any other
// held bytes are an incomplete event, which a browser would discard; they
// stay in Pending.
func (s *Scanner) End() (Event, bool) {
	if s.err != nil || !s.bomDone {
		return Event{}, false
	}
	n := len(s.buf)
	if n == 0 || s.line != n-1 || s.buf[n-1] != '\r' {
		return Event{}, false
	}
	ev := s.dispatch(0, n)
	s.consume(n)
	return ev, true
}

// Pending returns the bytes held back: an incomplete event. The caller must
// not modify them; they are valid until the next call to Feed or End.
func (s *Scanner) Pending() []byte { return s.buf }

// append adds chunk after the held bytes, replacing the buffer rather than
// compacting it when full (see Scanner).
func (s *Scanner) append(chunk []byte) {
	if len(chunk) <= cap(s.buf)-len(s.buf) {
		s.buf = append(s.buf, chunk...)
		return
	}
	n := len(s.buf) + len(chunk)
	buf := make([]byte, n, max(2*n, minSlab))
	copy(buf[copy(buf, s.buf):], chunk)
	s.buf = buf
}

// consume drops the first n bytes, which now belong to returned events.
func (s *Scanner) consume(n int) {
	if n == 0 {
		return
	}
	s.buf = s.buf[n:]
	s.line -= n
	s.searched -= n
	s.dataStart -= n
	s.dataEnd -= n
}

func (s *Scanner) checkPending() error {
	if len(s.buf) > s.max {
		s.err = ErrEventTooLarge
	}
	return s.err
}

// skipBOM decides whether the stream starts with a BOM, which may itself be
// split across chunks. It reports false while undecided.
func (s *Scanner) skipBOM() bool {
	n := min(len(s.buf), len(bom))
	if string(s.buf[:n]) == bom[:n] {
		if n < len(bom) {
			return false
		}
		s.line, s.searched = len(bom), len(bom)
	}
	s.bomDone = true
	return true
}

// field applies the non-blank line buf[start:end] to the block being built.
func (s *Scanner) field(start, end int) {
	line := s.buf[start:end]
	if line[0] == ':' {
		return // comment
	}
	name, vs := line, end // no colon: the whole line is a name, value ""
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, vs = line[:i], start+i+1
		if vs < end && s.buf[vs] == ' ' {
			vs++
		}
	}
	value := s.buf[vs:end]
	switch string(name) {
	case "event":
		s.name = intern(value)
	case "data":
		s.addData(vs, end)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			s.id = string(value)
			s.lastID = s.id
		}
	case "retry":
		s.retry = string(value)
	}
}

func (s *Scanner) addData(start, end int) {
	switch s.dataLines {
	case 0:
		s.dataStart, s.dataEnd = start, end
	case 1:
		s.data = append(s.data[:0], s.buf[s.dataStart:s.dataEnd]...)
		fallthrough
	default:
		s.data = append(s.data, '\n')
		s.data = append(s.data, s.buf[start:end]...)
	}
	s.dataLines++
}

// dispatch returns the block buf[start:end] and resets the block state.
func (s *Scanner) dispatch(start, end int) Event {
	ev := Event{
		Raw:         s.buf[start:end:end],
		Name:        s.name,
		ID:          s.id,
		LastEventID: s.lastID,
		Retry:       s.retry,
	}
	switch s.dataLines {
	case 0:
	case 1:
		ev.Data = s.buf[s.dataStart:s.dataEnd:s.dataEnd]
	default:
		ev.Data = bytes.Clone(s.data)
	}
	s.name, s.id, s.retry, s.dataLines = "", "", "", 0
	return ev
}

func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// intern avoids an allocation for the event names seen on every event.
func intern(b []byte) string {
	switch string(b) {
	case "message":
		return "message"
	case "ping":
		return "ping"
	case "endpoint":
		return "endpoint"
	}
	return string(b)
}
