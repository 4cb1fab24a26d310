package pii

// ibanLengths holds the IBAN length of every country in the SWIFT IBAN
// registry (release 2024), as "CCnn" entries. Territories that use their
// parent's code (GF, GP, ... with FR; AX with FI; IM, JE, GG with GB) need
// no entry of their own.
const ibanLengths = "" +
	"AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24" +
	"DE22DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27" +
	"GT28HN28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20" +
	"LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24" +
	"PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25" +
	"SV28TL23TN24TR26UA29VA22VG24XK20YE30"

// ibanLength returns the IBAN length for an upper-case country code, or 0.
func ibanLength(a, b byte) int {
	for k := 0; k+4 <= len(ibanLengths); k += 4 {
		if ibanLengths[k] == a && ibanLengths[k+1] == b {
			return int(ibanLengths[k+2]-'0')*10 + int(ibanLengths[k+3]-'0')
		}
	}
	return 0
}

// maxIBAN is the longest IBAN in the registry.
const maxIBAN = 34

// iban parses an IBAN whose country code starts at p (two letters followed
// by two digits, checked by the caller) and returns its end.
//
// Accepted: the electronic form (one run of exactly the country's length)
// or the print form, groups of four joined by single spaces (or single
// dashes) with a shorter last group. The value must end where the
// country's length ends, not run on into more letters or digits. Letters
// are all upper case or all lower case, and the whole passes ISO 7064
// mod 97-10.
func (sc *scanner) iban(p int) (int, bool) {
	s := sc.s
	upper := isUpper(s[p])
	if isUpper(s[p+1]) != upper {
		return 0, false
	}
	length := ibanLength(s[p]&^0x20, s[p+1]&^0x20)
	if length == 0 || p+length > len(s) {
		return 0, false
	}
	// Check digits are 02..98 by construction; 00, 01 and 99 are forgeries
	// that can still pass mod 97.
	if cd := int(s[p+2]-'0')*10 + int(s[p+3]-'0'); cd < 2 || cd > 98 {
		return 0, false
	}
	var buf [maxIBAN]byte
	n := copy(buf[:4], s[p:p+4])
	q := p + 4
	var sep byte
	if q+1 < len(s) && (s[q] == ' ' || s[q] == '-') && isAlnum(s[q+1]) {
		sep = s[q]
	}
	if sep == 0 {
		for q < len(s) && n < length && isAlnum(s[q]) {
			buf[n] = s[q]
			n++
			q++
		}
	} else {
		for n < length {
			if q >= len(s) || s[q] != sep {
				return 0, false
			}
			q++
			g := 0
			for q < len(s) && g < 4 && n < length && isAlnum(s[q]) {
				buf[n] = s[q]
				n++
				q++
				g++
			}
			if g == 0 || g < 4 && n < length {
				return 0, false
			}
		}
	}
	if n != length || sc.wordAt(q) {
		return 0, false
	}
	for _, c := range buf[4:n] {
		if isLetter(c) && isUpper(c) != upper {
			return 0, false
		}
	}
	return q, mod97(buf[:n]) == 1
}

// mod97 computes the IBAN check: the value with its first four characters
// moved to the end, letters as 10..35, modulo 97.
func mod97(b []byte) int {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c&^0x20-'A') + 10) % 97
		}
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return r
}
