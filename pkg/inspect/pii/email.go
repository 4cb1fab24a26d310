package pii

import "strings"

const (
	maxLocal  = 64  // RFC 5321 local-part limit
	maxDomain = 253 // RFC 1035 name limit
	maxLabel  = 63
)

// email handles the '@' at at and returns where scanning goes on.
//
// Accepted: a local part of ASCII letters, digits and "._%+-" (no leading,
// trailing or doubled dot; the rarer RFC 5322 specials are left out so a
// quote or brace before an address is not swallowed), and a domain of at
// least two LDH labels whose last is two or more letters or an IDNA
// "xn--" label. Not reported: a local part glued to non-ASCII letters
// (internationalized addresses are out of scope), a file name such as
// "logo@2x.png" (a file-extension TLD), and "user@host:path" (scp and git
// remotes, not mailboxes).
func (sc *scanner) email(at int) int {
	s := sc.s
	st := at
	for st > sc.lastEnd && at-st <= maxLocal && isLocal(s[st-1]) {
		st--
	}
	if at-st > maxLocal || st > 0 && s[st-1] >= 0x80 {
		return at + 1
	}
	for st < at && s[st] == '.' {
		st++
	}
	if st == at || s[at-1] == '.' || strings.Contains(s[st:at], "..") {
		return at + 1
	}
	end, ok := sc.domain(at + 1)
	if !ok {
		return at + 1
	}
	sc.report(Email, st, end, scoreFull)
	return end
}

// domain parses a mail domain at p and returns its end.
func (sc *scanner) domain(p int) (int, bool) {
	s := sc.s
	labels, last, end := 0, p, p
	for q := p; ; {
		r := q
		for r < len(s) && r-q <= maxLabel && (isAlnum(s[r]) || s[r] == '-') {
			r++
		}
		if r == q || r-q > maxLabel || s[q] == '-' || s[r-1] == '-' || r-p > maxDomain {
			return 0, false
		}
		labels++
		last, end = q, r
		if r+1 < len(s) && s[r] == '.' && isAlnum(s[r+1]) {
			q = r + 1
			continue
		}
		break
	}
	tld := s[last:end]
	if labels < 2 || !validTLD(tld) {
		return 0, false
	}
	if end < len(s) {
		switch c := s[end]; {
		case c >= 0x80, c == '_', c == '@':
			return 0, false
		case c == ':' && end+1 < len(s) && s[end+1] != ' ' && s[end+1] != '\n':
			return 0, false
		}
	}
	return end, true
}

func validTLD(t string) bool {
	if len(t) >= 5 && strings.EqualFold(t[:4], "xn--") {
		return true
	}
	if len(t) < 2 {
		return false
	}
	for k := 0; k < len(t); k++ {
		if !isLetter(t[k]) {
			return false
		}
	}
	return !isFileExt(t)
}

// fileExts are file extensions that are not TLDs in use for mail; an
// "address" ending in one is a file name ("icon@2x.png", "pkg@1.0.tgz").
const fileExts = " png jpg jpeg gif svg webp bmp ico tif tiff css scss js mjs cjs jsx ts tsx" +
	" json yaml yml xml htm html txt pdf gz tgz tar zip lock toml ini cfg conf log csv exe dll" +
	" wasm map "

// isFileExt reports whether t (letters only) is one of fileExts.
func isFileExt(t string) bool {
	if len(t) > 5 {
		return false
	}
	var b [7]byte
	b[0] = ' '
	for k := 0; k < len(t); k++ {
		b[k+1] = t[k] | 0x20
	}
	b[len(t)+1] = ' '
	return strings.Contains(fileExts, string(b[:len(t)+2]))
}

// isLocal reports whether c may appear in the local part we accept.
func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
