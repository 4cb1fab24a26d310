package pii

// card parses a payment card number starting at i, whose first digit run
// ends at j, and reports its end and score.
//
// Accepted shapes: 12 to 19 digits in one run, or groups joined by one
// kind of separator (a single space or a single dash): groups of four
// with a last group of one to four (4-4-4-4, 4-4-4-1, 4-4-4-4-3, ...),
// 4-6-5 (American Express) and 4-6-4 (Diners Club). A trailing group of at
// most three digits after a full number (a CVV written after it) is left
// out when the whole run is not itself a card. The digits must pass Luhn
// and fit the length table of a known issuer range (cardIssuer). Twelve
// digits are accepted only for Maestro's own prefixes, with scoreWeak.
func (sc *scanner) card(i, j int) (end int, score float64, ok bool) {
	s := sc.s
	var buf [19]byte
	if j-i >= 12 { // one run
		if j-i > 19 || sc.wordAt(j) || sc.joinedRight(j, '.') || sc.joinedLeft(i, '.') {
			return 0, 0, false
		}
		n := copy(buf[:], s[i:j])
		score, ok := cardValid(buf[:n])
		return j, score, ok
	}
	sep := s[j]
	if sc.joinedLeft(i, sep) {
		return 0, 0, false
	}
	var groups [6]int   // group lengths
	var ends [6]int     // end of each group
	var digitsAt [6]int // digit count up to and including each group
	ng, nd := 0, 0
	p := i
	for {
		q := runDigits(s, p)
		g := q - p
		if ng == len(groups) || nd+g > 23 {
			return 0, 0, false // too long to be one card, even with a CVV
		}
		for k := p; k < q && nd < len(buf); k++ {
			buf[nd] = s[k]
			nd++
		}
		groups[ng], ends[ng] = g, q
		if ng > 0 {
			digitsAt[ng] = digitsAt[ng-1] + g
		} else {
			digitsAt[ng] = g
		}
		ng++
		if !sc.joinedRight(q, sep) {
			break
		}
		p = q + 1
	}
	if sc.wordAt(ends[ng-1]) || sc.joinedRight(ends[ng-1], '.') {
		return 0, 0, false
	}
	// Whole run first, then without a short trailing group.
	for try := 0; try < 2; try++ {
		n := ng - try
		if n < 3 || try == 1 && groups[ng-1] > 3 {
			break
		}
		if !cardShape(groups[:n]) || digitsAt[n-1] > len(buf) {
			continue
		}
		if score, ok := cardValid(buf[:digitsAt[n-1]]); ok {
			return ends[n-1], score, true
		}
	}
	return 0, 0, false
}

// cardShape reports whether the group lengths are a standard grouping.
func cardShape(g []int) bool {
	switch {
	case len(g) == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4):
		return true
	case len(g) < 3:
		return false
	}
	for _, n := range g[:len(g)-1] {
		if n != 4 {
			return false
		}
	}
	last := g[len(g)-1]
	return last >= 1 && last <= 4
}

// cardValid checks the issuer range and Luhn.
func cardValid(d []byte) (float64, bool) {
	score, ok := cardIssuer(d)
	if !ok || !luhn(d) {
		return 0, false
	}
	return score, true
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// cardIssuer checks the number's length against the issuer ranges (IIN)
// it could belong to. The ranges are the published ones of the major
// schemes, with two widenings for what generators and test suites use:
// all of 35 counts as JCB (JCB's own range is 3528-3589), and all of 1 as
// UATP (15 digits; this also covers JCB's old 1800 prefix).
func cardIssuer(d []byte) (float64, bool) {
	n := len(d)
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	in := func(lo, hi int) bool { return n >= lo && n <= hi }
	if n == 12 {
		// Maestro's own prefixes only: twelve digits alone are too common.
		switch p4 {
		case 5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763:
			return scoreWeak, true
		}
		return 0, false
	}
	ok := false
	switch d[0] {
	case '1': // UATP
		ok = n == 15
	case '2':
		switch {
		case p4 >= 2200 && p4 <= 2204: // Mir
			ok = in(16, 19)
		case p4 >= 2221 && p4 <= 2720: // Mastercard
			ok = n == 16
		case p4 == 2131: // JCB, old
			ok = n == 15
		}
	case '3':
		switch {
		case p2 == 34 || p2 == 37: // American Express
			ok = n == 15
		case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
			ok = in(14, 19)
		case p2 == 35: // JCB
			ok = in(16, 19)
		}
	case '4': // Visa
		ok = n == 13 || n == 16 || n == 19
	case '5':
		switch {
		case p2 >= 51 && p2 <= 55: // Mastercard
			ok = n == 16
		case p2 == 50 || p2 >= 56: // Maestro, Dankort
			ok = in(13, 19)
		}
	case '6': // Discover, UnionPay, RuPay, Maestro, InterPayment
		ok = in(13, 19)
	case '8': // RuPay
		ok = (p2 == 81 || p2 == 82) && n == 16
	case '9': // Troy
		ok = p4 == 9792 && n == 16
	}
	return scoreFull, ok
}
