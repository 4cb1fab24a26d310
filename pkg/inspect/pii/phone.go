package pii

// Phone numbers are where a detector most easily drowns in false
// positives, so this one accepts only shapes that say "phone" on their
// own, and never a bare run of digits without a '+':
//
//   - international: '+' (or "00" followed by a separated number) and a
//     valid ITU country code, 8 to 15 digits in groups joined by single
//     spaces, dashes or dots, with optional "(0)" or "(20)" groups
//     ("+44 (20) 7123 4567", "+1-604-696-5272", "+447700677662"). Country
//     code 1 and 7 numbers must have 11 digits.
//   - NANP: "(415) 555-0132", "(415)555-0132", "415-555-0132",
//     "415.555.0132", "415 555 0132" (scoreWeak), optionally after "1" and
//     the same separator. The area code starts with 2-9 and is not N11.
//   - national with a trunk 0: "0490 75 40 81", "07700 063 966",
//     "01.84.17.61.18", "090-1234-5678", "030 1234567": 9 to 12 digits,
//     groups of at least two digits joined by one kind of separator; with
//     only two groups the last has six or more digits and the whole ten or
//     more unless the area is "0X" (scoreWeak). The SSN shape AAA-GG-SSSS
//     is not a phone.
//   - national with the area in parentheses, two digits or starting with
//     0: "(08) 8747 6301", "(71) 4233-6306": 10 or 11 digits in groups of
//     three or more (scoreWeak).
//
// An extension ("x123", " ext. 123") is part of the span. Years, prices,
// dates, versions and order numbers fail these shapes: "2024-01-15" and
// "12/05/2023" are too short for a trunk number, "1,299.99" has commas,
// "1.2.3" has no trunk 0.

// phone tries the phone shapes at the digit run [i, j) and returns the
// span found.
func (sc *scanner) phone(i, j int) (start, end int, score float64, ok bool) {
	s := sc.s
	if i > 0 && s[i-1] == '+' {
		if i >= 2 && (isWord(s[i-2]) || s[i-2] == '+') {
			return 0, 0, 0, false
		}
		end, ok := sc.phoneIntl(i, false)
		return i - 1, end, scoreFull, ok
	}
	if i > 0 && s[i-1] == '(' {
		if i >= 2 && isWord(s[i-2]) {
			return 0, 0, 0, false // a call: f(12)
		}
		if j-i == 3 {
			if end, ok := sc.nanp(i - 1); ok {
				return i - 1, end, scoreFull, true
			}
		}
		if (j-i == 2 || j-i <= 4 && s[i] == '0') && j < len(s) && s[j] == ')' {
			end, ok := sc.phoneParenNational(i-1, j)
			return i - 1, end, scoreWeak, ok
		}
		return 0, 0, 0, false
	}
	n := j - i
	switch {
	case n >= 3 && s[i] == '0' && s[i+1] == '0' && s[i+2] != '0':
		if j < len(s) && sc.joinedLeft(i, s[j]) {
			return 0, 0, 0, false
		}
		end, ok := sc.phoneIntl(i+2, true)
		return i, end, scoreFull, ok
	case n >= 2 && s[i] == '0' && s[i+1] != '0':
		end, ok := sc.phoneTrunk(i, j)
		return i, end, scoreWeak, ok
	case n == 3:
		if j < len(s) && sc.joinedLeft(i, s[j]) {
			return 0, 0, 0, false
		}
		end, ok := sc.nanp(i)
		score = scoreFull
		if ok && s[j] == ' ' {
			score = scoreWeak
		}
		return i, end, score, ok
	case n == 1 && s[i] == '1' && j+1 < len(s):
		sep := s[j]
		if sep != '-' && sep != '.' && sep != ' ' || sc.joinedLeft(i, sep) {
			return 0, 0, 0, false
		}
		p := j + 1
		if s[p] != '(' && (runDigits(s, p)-p != 3 || p+3 >= len(s) || s[p+3] != sep) {
			return 0, 0, 0, false
		}
		end, ok := sc.nanp(p)
		return i, end, scoreFull, ok
	}
	return 0, 0, 0, false
}

// nanp parses a NANP number at p: "(AAA)" with an optional space, or
// "AAA" and a separator, then "EEE", a separator and "NNNN".
func (sc *scanner) nanp(p int) (int, bool) {
	s := sc.s
	var sep1 byte
	a := p
	if s[p] == '(' {
		a = p + 1
		if runDigits(s, a) != a+3 || a+4 >= len(s) || s[a+3] != ')' {
			return 0, false
		}
		p = a + 4
		if s[p] == ' ' {
			p++
		}
	} else {
		if runDigits(s, a) != a+3 || a+3 >= len(s) {
			return 0, false
		}
		sep1 = s[a+3]
		if sep1 != '-' && sep1 != '.' && sep1 != ' ' {
			return 0, false
		}
		p = a + 4
	}
	if runDigits(s, p) != p+3 || p+3 >= len(s) {
		return 0, false
	}
	sep2 := s[p+3]
	if sep2 != '-' && sep2 != '.' && sep2 != ' ' || sep1 != 0 && sep2 != sep1 {
		return 0, false
	}
	end := p + 8
	if runDigits(s, p+4) != end {
		return 0, false
	}
	if s[a] < '2' || s[a+1] == '1' && s[a+2] == '1' {
		return 0, false
	}
	return sc.phoneEnd(end, sep2)
}

// phoneParenNational parses "(0X) ..." or "(XX) ..." at the '(' at p
// whose digits end at j (s[j] == ')').
func (sc *scanner) phoneParenNational(p, j int) (int, bool) {
	s := sc.s
	q := j + 1
	if q < len(s) && s[q] == ' ' {
		q++
	}
	if q >= len(s) || !isDigit(s[q]) {
		return 0, false
	}
	digits := j - (p + 1)
	var sep byte
	groups := 0
	for {
		e := runDigits(s, q)
		if e-q < 3 {
			return 0, false
		}
		digits += e - q
		groups++
		if e+1 < len(s) && (sep == 0 && (s[e] == ' ' || s[e] == '-') || s[e] == sep) && isDigit(s[e+1]) {
			sep = s[e]
			q = e + 1
			continue
		}
		if digits < 10 || digits > 11 || groups < 2 && digits-(j-p-1) < 7 {
			return 0, false
		}
		return sc.phoneEnd(e, sep)
	}
}

// phoneTrunk parses a national number with a trunk 0 at i, whose first
// group ends at j.
func (sc *scanner) phoneTrunk(i, j int) (int, bool) {
	s := sc.s
	if j+1 >= len(s) {
		return 0, false
	}
	sep := s[j]
	if sep != ' ' && sep != '-' && sep != '.' && sep != '/' || j-i > 5 || sc.joinedLeft(i, sep) {
		return 0, false
	}
	digits, groups, e, last := j-i, 1, j, 0
	for e+1 < len(s) && s[e] == sep && isDigit(s[e+1]) {
		q := runDigits(s, e+1)
		last = q - e - 1
		if last < 2 {
			return 0, false
		}
		digits += last
		groups++
		e = q
	}
	// Two groups need a long subscriber part ("030 1234567", "09-7625400"):
	// "03262 2437" is as likely a street number, "078-051121" an SSN.
	if groups < 2 || groups == 2 && (last < 6 || digits < 10 && j-i != 2) || digits < 9 || digits > 12 {
		return 0, false
	}
	if groups == 3 && j-i == 3 && e-i == 11 && s[i+6] == sep {
		return 0, false // AAA-GG-SSSS is the shape of an SSN, not a phone
	}
	return sc.phoneEnd(e, sep)
}

// phoneIntl parses the digits of an international number from p (just
// after the '+' or "00"). With zeroZero the number must have a separator:
// "0044207..." alone is a run of digits. When groups run on past a valid
// number ("+1 415 555 0132 2024"), the longest valid prefix of whole groups
// is taken.
func (sc *scanner) phoneIntl(p int, zeroZero bool) (int, bool) {
	s := sc.s
	first := runDigits(s, p)
	cc := countryCodeLen(s[p:first])
	if cc == 0 {
		return 0, false
	}
	const maxGroups = 10
	var ends, counts [maxGroups]int
	ends[0], counts[0] = first, first-p
	ng, digits, e := 1, first-p, first
	for e < len(s) && ng < maxGroups && digits <= 15 {
		q := e
		if s[q] == ' ' && q+1 < len(s) && s[q+1] == '(' {
			q++
		}
		if s[q] == '(' {
			r := runDigits(s, q+1)
			if r == q+1 || r-q-1 > 4 || r+1 >= len(s) || s[r] != ')' {
				break
			}
			if !(r-q-1 == 1 && s[q+1] == '0') { // "(0)" is a trunk prefix
				digits += r - q - 1
			}
			q = r + 1
			if q < len(s) && (s[q] == ' ' || s[q] == '-') {
				q++
			}
			if q >= len(s) || !isDigit(s[q]) {
				break
			}
		} else if (s[q] == ' ' || s[q] == '-' || s[q] == '.') && q+1 < len(s) && isDigit(s[q+1]) {
			q++
		} else {
			break
		}
		r := runDigits(s, q)
		digits += r - q
		e = r
		ends[ng], counts[ng] = e, digits
		ng++
	}
	for k := ng - 1; k >= 0; k-- {
		n := counts[k]
		if zeroZero && k == 0 || n < 8 || n > 15 || cc == 1 && n != 11 { // +1 and +7: 10 national digits
			continue
		}
		if end, ok := sc.phoneEnd(ends[k], 0); ok {
			return end, true
		}
	}
	return 0, false
}

// phoneEnd checks what follows a phone number ending at e and extends it
// over an extension. sep is the number's separator, if any.
func (sc *scanner) phoneEnd(e int, sep byte) (int, bool) {
	if x := sc.extension(e); x > e {
		return x, true
	}
	if sc.wordAt(e) || sc.joinedRight(e, '.') || sc.joinedRight(e, '-') || sep != 0 && sc.joinedRight(e, sep) {
		return 0, false
	}
	return e, true
}

// extension returns the end of an extension after e ("x123", " x123",
// "ext. 123", " ext 123"), or e.
func (sc *scanner) extension(e int) int {
	s := sc.s
	p := e
	if p < len(s) && s[p] == ' ' {
		p++
	}
	switch {
	case p < len(s) && s[p] == 'x':
		p++
	case p+3 <= len(s) && s[p:p+3] == "ext":
		p += 3
		if p < len(s) && s[p] == '.' {
			p++
		}
		if p < len(s) && s[p] == ' ' {
			p++
		}
	default:
		return e
	}
	q := runDigits(s, p)
	if q == p || q-p > 6 || sc.wordAt(q) {
		return e
	}
	return q
}
