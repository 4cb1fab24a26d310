// Package normalize turns hostile text into what a language model would
// read, so detectors see "ignore previous instructions" however it was
// written: compatibility forms (fullwidth, mathematical, circled letters),
// invisible characters, look-alike letters from other scripts, case,
// spacing and base64, hex, binary or Unicode-tag encodings. A Result maps
// its bytes back to the input, so a finding can name a span of the
// original text.
package normalize

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Options tune a Normalizer; the zero value takes the defaults.
type Options struct {
	// MinEncodedRun is the shortest run of base64 or hex characters that
	// is tried as an encoding; 0 means 20 (15 decoded bytes for base64:
	// "ignore previous" is 15).
	MinEncodedRun int
	// MaxSegments caps the decoded segments appended to one Result; 0
	// means 32. Decoded text may itself be decoded once more.
	MaxSegments int
}

// Encoding says how a Segment was hidden in the input.
type Encoding uint8

// Encodings of segments.
const (
	Plain Encoding = iota
	Base64
	Hex
	Binary
	Tags // Unicode tag characters U+E0020..U+E007E, invisible ASCII
)

var encodingNames = [...]string{Plain: "plain", Base64: "base64", Hex: "hex", Binary: "binary", Tags: "tags"}

func (e Encoding) String() string {
	if int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return "encoding?"
}

// Normalizer is immutable after New and safe for concurrent use.
type Normalizer struct {
	minRun  int
	maxSegs int
	class   [256]uint8    // byte classes, below
	lower   [256]byte     // what the fast path writes for a byte
	fold    map[rune]rune // look-alikes to ASCII, see fold.go
}

// Byte classes: a kind in the low bits and two flags.
const (
	cKeep  = iota // copied as is
	cUpper        // lowercased
	cSpace        // collapsed
	cDrop         // control characters
	cNonASCII
	kindMask = 0x0f
	cSlow    = 0x40 // the fast path stops here (see fast)
	cB64     = 0x80 // in the base64 (and hex) alphabet
)

// New builds a Normalizer.
func New(opts Options) *Normalizer {
	n := &Normalizer{minRun: opts.MinEncodedRun, maxSegs: opts.MaxSegments, fold: foldTable()}
	if n.minRun <= 0 {
		n.minRun = 20
	}
	if n.maxSegs <= 0 {
		n.maxSegs = 32
	}
	for c := 0; c < 256; c++ {
		var k uint8 = cKeep
		n.lower[c] = byte(c)
		switch {
		case c >= utf8.RuneSelf:
			k = cNonASCII | cSlow
		case c >= 'A' && c <= 'Z':
			k = cUpper
			n.lower[c] = byte(c) + 'a' - 'A'
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			k = cSpace | cSlow
			n.lower[c] = ' '
			if c == '\n' {
				n.lower[c] = '\n'
			}
		case c < 0x20 || c == 0x7f:
			k = cDrop | cSlow
		}
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_' {
			k |= cB64
		}
		n.class[c] = k
	}
	return n
}

// Normalize returns the normalised form of src in a new Result.
func (n *Normalizer) Normalize(src string) *Result {
	r := new(Result)
	n.Into(r, src)
	return r
}

// Into normalises src into r, reusing r's memory. Work is linear in
// len(src): decoding only shrinks text, and nests at most twice.
func (n *Normalizer) Into(r *Result, src string) {
	if cap(r.Text) < len(src) {
		r.Text = make([]byte, 0, len(src)+len(src)/8)
	}
	r.Text = r.Text[:0]
	r.Segments = r.Segments[:0]
	r.marks = r.marks[:0]
	r.work = r.work[:0]

	n.segment(r, src, pending{srcEnd: len(src)}, true)
	for i := 0; i < len(r.work) && len(r.Segments) < n.maxSegs+1; i++ {
		p := r.work[i]
		r.Text = append(r.Text, '\n')
		n.segment(r, p.text, p, false)
	}
	clear(r.work) // drop references to decoded strings
}

// segment appends the normalised form of s as one Segment and queues
// what is encoded in it.
func (n *Normalizer) segment(r *Result, s string, p pending, track bool) {
	start := len(r.Text)
	r.runs = r.runs[:0]
	r.tags = r.tags[:0]
	w := writer{r: r, base: start, track: track}
	n.walk(&w, s)
	r.Segments = append(r.Segments, Segment{Start: start, End: len(r.Text),
		SrcStart: p.srcStart, SrcEnd: p.srcEnd, Encoding: p.enc})
	if p.depth < 2 {
		n.queueDecoded(r, s, p, start)
	}
}

// writer appends output bytes, collapsing whitespace and recording where
// the output→input offset changes.
type writer struct {
	r      *Result
	base   int  // start of the segment in r.Text
	track  bool // record marks (segment 0 only)
	delta  int  // input - output offset of the last byte written
	pend   byte // pending whitespace: 0, ' ' or '\n'
	pendIn int
}

func (w *writer) byte(c byte, in int) {
	if w.pend != 0 {
		p := w.pend
		w.pend = 0
		if len(w.r.Text) > w.base { // no leading whitespace
			w.byte(p, w.pendIn)
		}
	}
	if w.track && in-len(w.r.Text) != w.delta {
		w.delta = in - len(w.r.Text)
		w.r.marks = append(w.r.marks, mark{out: len(w.r.Text), in: in})
	}
	w.r.Text = append(w.r.Text, c)
}

func (w *writer) space(c byte, in int) {
	if w.pend == 0 {
		w.pend, w.pendIn = ' ', in
	}
	if c == '\n' {
		w.pend = '\n'
	}
}

// walk is the loop over the input: long stretches that map byte for
// byte in fast, the rest here, rune by rune.
func (n *Normalizer) walk(w *writer, s string) {
	r := w.r
	runLen := 0 // bytes in the base64-alphabet run ending before i
	endRun := func(at int) {
		if runLen >= n.minRun {
			r.runs = append(r.runs, run{at - runLen, at})
		}
		runLen = 0
	}
	for i := 0; i < len(s); {
		if w.pend == 0 && (!w.track || i-len(r.Text) == w.delta) {
			if i, runLen = n.fast(r, s, i, runLen, w.base); i >= len(s) {
				break
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			k := n.class[c]
			if k&cB64 != 0 {
				runLen++
			} else {
				endRun(i)
			}
			switch k & kindMask {
			case cKeep, cUpper:
				w.byte(n.lower[c], i)
			case cSpace:
				w.space(c, i)
			}
			i++
			continue
		}
		endRun(i)
		ru, size := utf8.DecodeRuneInString(s[i:])
		n.rune(w, s[i:i+size], ru, i)
		i += size
	}
	endRun(len(s))
}

// fast copies from s[i:] the bytes that map one to one, so need no
// offset mark: ASCII letters (lowercased), digits, punctuation, and a
// single space or newline between two of those. It returns where it
// stopped and the length of the base64 run then. This loop is most of
// the work on ordinary text.
func (n *Normalizer) fast(r *Result, s string, i, runLen, base int) (int, int) {
	src := s[i:]
	o := len(r.Text)
	if cap(r.Text)-o < len(src) {
		grown := make([]byte, o, o+len(src)+len(src)/4)
		copy(grown, r.Text)
		r.Text = grown
	}
	dst := r.Text[o : o+len(src)]
	j := 0
	for ; j < len(src); j++ {
		c := src[j]
		k := n.class[c]
		if k&cSlow != 0 && (k&kindMask != cSpace || o+j == base ||
			j+1 == len(src) || n.class[src[j+1]]&cSlow != 0) {
			break
		}
		dst[j] = n.lower[c]
		if k&cB64 != 0 {
			runLen++
			continue
		}
		if runLen >= n.minRun {
			r.runs = append(r.runs, run{i + j - runLen, i + j})
		}
		runLen = 0
	}
	r.Text = r.Text[:o+j]
	return i + j, runLen
}

// rune handles one non-ASCII rune (its bytes are enc) at input offset in.
func (n *Normalizer) rune(w *writer, enc string, ru rune, in int) {
	switch {
	case ru == utf8.RuneError && len(enc) == 1:
		return // invalid UTF-8: dropped, so it cannot split a word
	case ru >= 0xE0000 && ru <= 0xE007F:
		n.tag(w.r, ru, in, len(enc))
		return
	case invisible(ru):
		return
	}
	if f, ok := n.fold[ru]; ok {
		n.simple(w, f, in, len(enc))
		return
	}
	d := norm.NFKC.PropertiesString(enc).Decomposition()
	if len(d) == 0 || keepsMarks(d) {
		n.simple(w, ru, in, len(enc))
		return
	}
	for len(d) > 0 {
		dr, size := utf8.DecodeRune(d)
		d = d[size:]
		if f, ok := n.fold[dr]; ok {
			dr = f
		}
		n.simple(w, dr, in, len(enc))
	}
}

// simple writes one rune that needs no decomposition; it stands for the
// size input bytes at in.
func (n *Normalizer) simple(w *writer, ru rune, in, size int) {
	if ru < utf8.RuneSelf {
		switch n.class[ru] & kindMask {
		case cKeep, cUpper:
			w.byte(n.lower[ru], in)
		case cSpace:
			w.space(byte(ru), in)
		}
		return
	}
	switch {
	case droppedMark(ru) || invisible(ru):
		return
	case ru == 0x85 || ru == 0x2028 || ru == 0x2029:
		w.space('\n', in)
		return
	case unicode.IsSpace(ru):
		w.space(' ', in)
		return
	}
	ru = unicode.ToLower(ru)
	var buf [utf8.UTFMax]byte
	m := utf8.EncodeRune(buf[:], ru)
	for j := 0; j < m; j++ {
		w.byte(buf[j], in+min(j, size-1)) // same size: offsets stay 1:1
	}
}

// keepsMarks reports whether a decomposition holds a combining mark this
// package does not drop (Japanese voicing marks, Indic nukta): then the
// composed rune is kept, as NFKC would keep it.
func keepsMarks(d []byte) bool {
	for len(d) > 0 {
		r, size := utf8.DecodeRune(d)
		d = d[size:]
		if r >= 0x300 && unicode.Is(unicode.Mn, r) && !droppedMark(r) {
			return true
		}
	}
	return false
}

// tag collects a Unicode tag character: tags spell ASCII invisibly
// ("ASCII smuggling"), so they are dropped from the text and their ASCII
// is appended as a segment of its own.
func (n *Normalizer) tag(r *Result, ru rune, in, size int) {
	c := byte(ru - 0xE0000)
	if c < 0x20 || c > 0x7e {
		return
	}
	if len(r.tags) == 0 {
		r.tagSpan[0] = in
	}
	r.tagSpan[1] = in + size
	r.tags = append(r.tags, c)
}
