// Package pii finds personal data in text: e-mail addresses, phone numbers,
// payment card numbers, IBANs, US social security numbers and IP addresses.
//
// It is built for the request path. One pass over the bytes looks only at
// the few bytes that can start a candidate (a digit, '@', ':'), and each
// candidate is parsed by hand and then validated (Luhn, mod-97, SSN area
// rules, octet ranges, country code tables). There is no regexp on the hot
// path. Everything is byte-oriented, so invalid UTF-8 costs nothing extra,
// and every step is bounded, so a 10 MB text is scanned in linear time with
// no allocation beyond the findings.
//
// The detector is conservative: a format look-alike that fails its checksum
// or rules is not reported, and a value glued to a longer run of letters,
// digits or dotted numbers (an identifier, a version string, a digit dump)
// is not reported either. What each rule accepts is described on its parser.
package pii

import (
	"context"
	"fmt"
	"math/bits"
	"strings"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// Rule names: the Finding.Rule values, and the names Options.Entities
// takes.
const (
	Email      = "email"
	Phone      = "phone"
	CreditCard = "credit_card"
	IBAN       = "iban"
	USSSN      = "us_ssn"
	IPAddress  = "ip_address"
)

// MaxFindings caps the findings one Scan reports, over all its texts. A
// text crafted to hold millions of addresses then costs one bounded pass
// and a bounded number of emit calls; a policy that acts on any finding
// still sees plenty.
const MaxFindings = 1000

// Scores. Score is 1 for the formats that are specific on their own; the
// weak formats (a 12-digit Maestro number, a phone number written only
// with national digits and spaces or a trunk 0) get scoreWeak.
const (
	scoreFull = 1.0
	scoreWeak = 0.6
)

type entity uint8

const (
	entEmail entity = 1 << iota
	entPhone
	entCard
	entIBAN
	entSSN
	entIP
)

// entities lists every rule with its bit, sorted by name.
var entities = [...]struct {
	name string
	bit  entity
}{
	{CreditCard, entCard},
	{Email, entEmail},
	{IBAN, entIBAN},
	{IPAddress, entIP},
	{Phone, entPhone},
	{USSSN, entSSN},
}

// Entities returns every rule name, sorted.
func Entities() []string {
	names := make([]string, len(entities))
	for i, e := range entities {
		names[i] = e.name
	}
	return names
}

func entityOf(name string) (entity, bool) {
	for _, e := range entities {
		if e.name == name {
			return e.bit, true
		}
	}
	return 0, false
}

func severityOf(rule string) inspect.Severity {
	switch rule {
	case CreditCard, IBAN, USSSN:
		return inspect.High
	case Email, Phone:
		return inspect.Medium
	default:
		return inspect.Low
	}
}

// Options configures a Detector.
type Options struct {
	// Entities selects the rules to run by name (see Entities); empty runs
	// them all.
	Entities []string
}

// Detector finds personal data. It is immutable and safe for concurrent
// use.
type Detector struct {
	on entity
	// trigger marks the bytes that can start a candidate for the enabled
	// rules; every other byte is skipped without a second look.
	trigger [256]bool
}

var _ inspect.Detector = (*Detector)(nil)

// New returns a Detector for the entities opts selects.
func New(opts Options) (*Detector, error) {
	d := &Detector{}
	var unknown []string
	for _, n := range opts.Entities {
		e, ok := entityOf(n)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		d.on |= e
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("pii: unknown entities %s (known: %s)",
			strings.Join(unknown, ", "), strings.Join(Entities(), ", "))
	}
	if len(opts.Entities) == 0 {
		d.on = entEmail | entPhone | entCard | entIBAN | entSSN | entIP
	}
	if d.on&(entPhone|entCard|entIBAN|entSSN|entIP) != 0 {
		for c := '0'; c <= '9'; c++ {
			d.trigger[c] = true
		}
	}
	if d.on&entEmail != 0 {
		d.trigger['@'] = true
	}
	if d.on&entIP != 0 {
		d.trigger[':'] = true
	}
	return d, nil
}

// Name implements inspect.Detector.
func (d *Detector) Name() string { return "pii" }

// Scan implements inspect.Detector. It never fails and does not look at
// ctx: a pass is bounded and fast.
func (d *Detector) Scan(_ context.Context, texts []inspect.Text, emit func(inspect.Finding)) error {
	budget := MaxFindings
	for i := range texts {
		sc := scanner{d: d, s: texts[i].Value, text: i, emit: emit, budget: budget}
		sc.run()
		budget = sc.budget
		if budget == 0 {
			break
		}
	}
	return nil
}

// scanner is the state of one pass over one text.
type scanner struct {
	d      *Detector
	s      string
	text   int
	emit   func(inspect.Finding)
	budget int
	// lastEnd is the end of the last finding: a digit before it belongs to
	// that finding, not to a longer run the next candidate would extend.
	lastEnd int
	// v6floor: positions before it belong to a colon run already judged.
	v6floor int
}

func (sc *scanner) run() {
	s, trig := sc.s, &sc.d.trigger
	for i := 0; i < len(s); {
		// Skip eight bytes at a time while none can start a candidate.
		for i+8 <= len(s) {
			m := candidates(load64(s, i))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			return
		}
		if !trig[s[i]] {
			i++
			continue
		}
		switch s[i] {
		case '@':
			i = sc.email(i)
		case ':':
			i = sc.ipv6(i)
		default:
			i = sc.digits(i)
		}
		if sc.budget == 0 {
			return
		}
	}
}

func (sc *scanner) report(rule string, start, end int, score float64) {
	sc.emit(inspect.Finding{
		Rule:     rule,
		Severity: severityOf(rule),
		Text:     sc.text,
		Start:    start,
		End:      end,
		Score:    score,
	})
	sc.lastEnd = end
	sc.budget--
}

// digits handles the digit run that starts at i: it tries each enabled
// numeric rule in turn and returns where scanning goes on.
func (sc *scanner) digits(i int) int {
	s, on := sc.s, sc.d.on
	j := i + 1
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if on&entIBAN != 0 && i >= 2 && j-i >= 2 && isLetter(s[i-1]) && isLetter(s[i-2]) &&
		(i == 2 || !isWord(s[i-3])) {
		if end, ok := sc.iban(i - 2); ok {
			sc.report(IBAN, i-2, end, scoreFull)
			return end
		}
	}
	if i > 0 && isWord(s[i-1]) {
		return j // part of an identifier
	}
	var next byte
	if j < len(s) {
		next = s[j]
	}
	// Most numbers in prose stand alone ("in 2024, ..."); only a separator
	// followed by another digit can make a multi-group value.
	multi := j+1 < len(s) && isDigit(s[j+1]) && (next == ' ' || next == '-' || next == '.' || next == '/')
	n := j - i
	if on&entCard != 0 && (n >= 12 && n <= 19 || n == 4 && multi && next != '.' && next != '/') {
		if end, score, ok := sc.card(i, j); ok {
			sc.report(CreditCard, i, end, score)
			return end
		}
	}
	if on&entSSN != 0 && n == 3 && multi && next != '/' {
		if end, ok := sc.ssn(i, j); ok {
			sc.report(USSSN, i, end, scoreFull)
			return end
		}
	}
	if on&entIP != 0 && n <= 3 && multi && next == '.' {
		if end, ok := sc.ipv4(i); ok {
			sc.report(IPAddress, i, end, scoreFull)
			return end
		}
	}
	if on&entPhone != 0 && (multi || i > 0 && (s[i-1] == '+' || s[i-1] == '(') ||
		n == 1 && next == ' ' && j+1 < len(s) && s[j+1] == '(') {
		if start, end, score, ok := sc.phone(i, j); ok {
			sc.report(Phone, start, end, score)
			return end
		}
	}
	return j
}

// joinedLeft reports whether the candidate starting at i continues a run
// of digits before it through sep (so it is a tail of something longer).
// Digits of the last finding do not count.
func (sc *scanner) joinedLeft(i int, sep byte) bool {
	return i >= 2 && sc.s[i-1] == sep && isDigit(sc.s[i-2]) && i-2 >= sc.lastEnd
}

// joinedRight reports whether the candidate ending at e runs on through
// sep into another digit.
func (sc *scanner) joinedRight(e int, sep byte) bool {
	return e+1 < len(sc.s) && sc.s[e] == sep && isDigit(sc.s[e+1])
}

// wordAt reports whether s[e] exists and is a letter, digit or '_'.
func (sc *scanner) wordAt(e int) bool { return e < len(sc.s) && isWord(sc.s[e]) }

// runDigits returns the end of the digit run starting at p.
func runDigits(s string, p int) int {
	for p < len(s) && isDigit(s[p]) {
		p++
	}
	return p
}

func isDigit(c byte) bool  { return c-'0' < 10 }
func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }
func isUpper(c byte) bool  { return c-'A' < 26 }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// isWord: a byte that glues to a match. Bytes >= 0x80 are parts of
// non-ASCII letters and glue too.
func isWord(c byte) bool { return isAlnum(c) || c == '_' || c >= 0x80 }

func isHex(c byte) bool { return isDigit(c) || (c|0x20)-'a' < 6 }

// load64 reads s[i:i+8] as a little-endian word (one load once compiled).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// candidates flags (with its high bit) each byte of w that is a digit,
// ':' or '@': every byte that can start a candidate for some rule. The
// arithmetic stays within each byte, so the flags are exact.
func candidates(w uint64) uint64 {
	const (
		lo7  = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
		ones = 0x0101010101010101
	)
	low := w & lo7
	// '0'..':' is 0x30..0x3a: above 0x2f and below 0x3b, ASCII only.
	between := (ones*(127+0x3b) - low) & (low + ones*(127-0x2f)) &^ w & high
	z := w ^ (ones * '@')
	at := ^((z&lo7 + lo7) | z | lo7)
	return between | at
}
