package normalize

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// queueDecoded queues, as segments to append, what the runs found while
// walking s decode to, and the ASCII its tag characters spell. Offsets in
// a decoded segment name the whole run in the input; offsets in a segment
// decoded from a decoded segment name that segment's run.
func (n *Normalizer) queueDecoded(r *Result, s string, p pending, segStart int) {
	srcSpan := func(a, b int) (int, int) {
		if p.depth == 0 {
			return a, b
		}
		return p.srcStart, p.srcEnd
	}
	add := func(text []byte, a, b int, enc Encoding) {
		if len(r.work) >= n.maxSegs {
			return
		}
		a, b = srcSpan(a, b)
		r.work = append(r.work, pending{text: string(text), srcStart: a, srcEnd: b, enc: enc, depth: p.depth + 1})
	}
	for _, ru := range r.runs {
		if len(r.work) >= n.maxSegs {
			break
		}
		if dec, enc := n.decodeRun(r, s[ru.start:ru.end]); dec != nil {
			add(dec, ru.start, ru.end, enc)
		}
	}
	for _, ru := range binaryRuns(s) {
		if len(r.work) >= n.maxSegs {
			break
		}
		r.scratch = decodeBinary(r.scratch[:0], s[ru.start:ru.end])
		if readable(r.scratch) {
			add(r.scratch, ru.start, ru.end, Binary)
		}
	}
	if len(r.tags) >= 4 {
		add(r.tags, r.tagSpan[0], r.tagSpan[1], Tags)
	}
}

// decodeRun decodes a run of base64-alphabet characters as hex, binary or
// base64, whichever gives readable UTF-8 text; nil if none does. The
// result is in r.scratch.
func (n *Normalizer) decodeRun(r *Result, s string) ([]byte, Encoding) {
	t := strings.TrimRight(s, "=")
	if i := strings.LastIndexByte(t, '='); i >= 0 {
		t = t[i+1:] // "key=value": padding ends base64, so the value starts here
	}
	if len(t) < n.minRun {
		return nil, Plain
	}
	if allIn(t, "01") && len(t)%8 == 0 {
		r.scratch = decodeBinary(r.scratch[:0], t)
		if readable(r.scratch) {
			return r.scratch, Binary
		}
	}
	if len(t)%2 == 0 && allHex(t) {
		r.in = append(r.in[:0], t...)
		r.scratch = grow(r.scratch, len(t)/2)
		if _, err := hex.Decode(r.scratch, r.in); err == nil && readable(r.scratch) {
			return r.scratch, Hex
		}
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		if strings.ContainsAny(t, "+/") {
			return nil, Plain
		}
		enc = base64.RawURLEncoding
	}
	if len(t)%4 == 1 { // a stray character: decode the rest
		t = t[:len(t)-1]
	}
	r.scratch = grow(r.scratch, enc.DecodedLen(len(t)))
	r.in = append(r.in[:0], t...)
	m, err := enc.Decode(r.scratch, r.in)
	if err != nil || !readable(r.scratch[:m]) {
		return nil, Plain
	}
	return r.scratch[:m], Base64
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// readable reports whether decoded bytes are text a model would read:
// valid UTF-8, almost no control characters, and mostly letters and
// spaces (identifiers and random data decode to neither).
func readable(b []byte) bool {
	if len(b) < 4 || !utf8.Valid(b) {
		return false
	}
	var total, bad, letters int
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		total++
		switch {
		case r == '\n' || r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7f || r == utf8.RuneError || !unicode.IsPrint(r) && !unicode.IsSpace(r):
			bad++
		case unicode.IsLetter(r) || r == ' ':
			letters++
		}
	}
	return bad*20 <= total && letters*3 >= total*2
}

// binaryRuns finds space-separated groups of eight binary digits, at
// least four in a row ("01101001 01100111 ..."). Contiguous binary is an
// ordinary run and handled by decodeRun.
func binaryRuns(s string) []run {
	var out []run
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '0')
		if j < 0 {
			break
		}
		start := i + j
		if start > 0 && isBinDigit(s[start-1]) {
			i = start + 1
			continue
		}
		end, groups := start, 0
		for isGroup(s, end) {
			groups++
			end += 8
			if end+1 < len(s) && s[end] == ' ' && isGroup(s, end+1) {
				end++
				continue
			}
			break
		}
		if groups >= 4 {
			out = append(out, run{start, end})
		}
		i = max(end, start+1)
	}
	return out
}

func isBinDigit(c byte) bool { return c == '0' || c == '1' }

// isGroup reports whether eight binary digits, and no ninth, start at p.
func isGroup(s string, p int) bool {
	return p+8 <= len(s) && allIn(s[p:p+8], "01") && (p+8 == len(s) || !isBinDigit(s[p+8]))
}

// decodeBinary decodes groups of eight binary digits, ignoring spaces.
func decodeBinary(dst []byte, s string) []byte {
	var c byte
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			continue
		}
		c = c<<1 | (s[i] - '0')
		if k++; k == 8 {
			dst = append(dst, c)
			c, k = 0, 0
		}
	}
	return dst
}
