package pii

import "net/netip"

// ipv4 parses a dotted-quad IPv4 address starting at i and returns its
// end, with a CIDR suffix "/0".."/32" when one follows.
//
// Each octet is 0-255 without leading zeros (as net/netip reads them: a
// zero-padded octet is ambiguous, and "01.02.03.04" is more often a date or
// version). The address must not be part of a longer dotted run: neither
// "1.2.3.4.5" nor its tail "2.3.4.5" is reported, and neither is an address
// glued to letters ("v1.2.3.4", "1.2.3.4a").
func (sc *scanner) ipv4(i int) (int, bool) {
	s := sc.s
	if i >= 2 && s[i-1] == '.' && isWord(s[i-2]) {
		return 0, false
	}
	p := i
	for k := 0; k < 4; k++ {
		if k > 0 {
			if p >= len(s) || s[p] != '.' {
				return 0, false
			}
			p++
		}
		q := runDigits(s, p)
		if q == p || q-p > 3 || q-p > 1 && s[p] == '0' || num(s[p:q]) > 255 {
			return 0, false
		}
		p = q
	}
	if sc.wordAt(p) || sc.joinedRight(p, '.') {
		return 0, false
	}
	return sc.cidr(p, 32), true
}

// cidr extends an address ending at p over a "/n" prefix length of at
// most max; an out-of-range or glued suffix is left out.
func (sc *scanner) cidr(p, max int) int {
	s := sc.s
	if p+1 >= len(s) || s[p] != '/' {
		return p
	}
	q := runDigits(s, p+1)
	if q == p+1 || q-p-1 > 3 || sc.wordAt(q) || num(s[p+1:q]) > max {
		return p
	}
	return q
}

// maxIPv6Text bounds the text of one IPv6 candidate: 45 characters for the
// longest address with an embedded IPv4, plus room for a zone.
const maxIPv6Text = 64

// ipv6 handles the ':' at c: it finds the run of hex digits, colons and
// dots around it and reports it when net/netip parses it as an IPv6
// address. It returns where scanning goes on.
//
// Accepted: any form netip accepts, including "::" compression, an
// embedded IPv4 tail and a zone ("fe80::1%eth0"), with a "/n" prefix
// length up to 128. The run must have "::" or at least six colons and one
// hex digit (so "::" alone, times, ratios and C++ scopes are not
// addresses), and must not be glued to letters ("text2001:db8::1",
// "fe80::1text"). A trailing '.' or single ':' is punctuation.
func (sc *scanner) ipv6(c int) int {
	s := sc.s
	st := c
	for st > sc.v6floor && st > sc.lastEnd && c-st <= maxIPv6Text && (isHex(s[st-1]) || s[st-1] == ':') {
		st--
	}
	if st > 0 && (isWord(s[st-1]) || s[st-1] == ':' || s[st-1] == '.') || c-st > maxIPv6Text {
		// Glued to a word, or the tail of a run already judged, a finding
		// or an over-long run.
		sc.v6floor = c + 1
		return c + 1
	}
	en := c
	colons, hex, double := 0, false, false
	for en < len(s) && en-st <= maxIPv6Text {
		ch := s[en]
		if ch == ':' {
			colons++
			if en > st && s[en-1] == ':' {
				double = true
			}
		} else if isHex(ch) {
			hex = true
		} else if ch != '.' {
			break
		}
		en++
	}
	lastColon := en
	for lastColon > c && s[lastColon-1] != ':' {
		lastColon--
	}
	resume := lastColon // the IPv4 tail of a failed run still gets its look
	sc.v6floor = resume
	if en-st > maxIPv6Text {
		return resume
	}
	// Trailing punctuation.
	for en > c+1 && s[en-1] == '.' {
		en--
	}
	if en > st+1 && s[en-1] == ':' && s[en-2] != ':' {
		en--
	}
	// The start of hex was counted only forward of c.
	for k := st; k < c && !hex; k++ {
		hex = isHex(s[k])
	}
	if !hex || !double && colons < 6 {
		return resume
	}
	e := en
	if e+1 < len(s) && s[e] == '%' && isAlnum(s[e+1]) { // zone
		e++
		for e < len(s) && e-st <= maxIPv6Text && (isAlnum(s[e]) || s[e] == '_' || s[e] == '-' || s[e] == '.') {
			e++
		}
		for s[e-1] == '.' {
			e--
		}
	}
	if sc.wordAt(e) {
		return resume
	}
	a, err := netip.ParseAddr(s[st:e])
	if err != nil || !a.Is6() {
		return resume
	}
	end := sc.cidr(e, 128)
	sc.report(IPAddress, st, end, scoreFull)
	return end
}
