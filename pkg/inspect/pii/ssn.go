package pii

// ssn parses a US social security number AAA-GG-SSSS starting at i, whose
// three-digit area ends at j, and returns its end.
//
// Accepted separators: '-', ' ' or '.', the same one twice. Nine bare
// digits are not accepted (too many order and account numbers look like
// that), nor are mixed or missing separators ("078-051121").
//
// Rejected as never issued: area 000, 666 and 900-999 (the 9xx block holds
// ITINs and the advertising range 987-65-4320..4329), group 00, serial
// 0000. Rejected as well-known non-personal numbers: 078-05-1120 (the
// Woolworth wallet card), 219-09-9999 (the 1940s Social Security Board
// pamphlet), 123-45-6789 (the usual example) and any number made of one
// repeated digit (111-11-1111, a placeholder).
func (sc *scanner) ssn(i, j int) (int, bool) {
	s := sc.s
	sep := s[j]
	end := j + 8
	if end > len(s) || !isDigit(s[j+1]) || !isDigit(s[j+2]) || s[j+3] != sep ||
		runDigits(s, j+4) != end || sc.wordAt(end) {
		return 0, false
	}
	if sc.joinedLeft(i, sep) || sc.joinedLeft(i, '.') || sc.joinedLeft(i, '-') ||
		sc.joinedRight(end, sep) || sc.joinedRight(end, '.') || sc.joinedRight(end, '-') {
		return 0, false
	}
	area := num(s[i:j])
	group := num(s[j+1 : j+3])
	serial := num(s[j+4 : end])
	switch {
	case area == 0, area == 666, area >= 900, group == 0, serial == 0:
		return 0, false
	case area == 78 && group == 5 && serial == 1120,
		area == 219 && group == 9 && serial == 9999,
		area == 123 && group == 45 && serial == 6789:
		return 0, false
	}
	if same := s[i]; s[i+1] == same && s[i+2] == same && s[j+1] == same && s[j+2] == same &&
		s[j+4] == same && s[j+5] == same && s[j+6] == same && s[j+7] == same {
		return 0, false
	}
	return end, true
}

// num parses a short run of ASCII digits.
func num(d string) int {
	v := 0
	for k := 0; k < len(d); k++ {
		v = v*10 + int(d[k]-'0')
	}
	return v
}
