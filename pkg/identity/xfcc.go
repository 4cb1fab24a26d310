package identity

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedXFCC is wrapped by every error of ParseXFCC.
var ErrMalformedXFCC = errors.New("malformed x-forwarded-client-cert")

// Bounds on untrusted input: a real chain of proxies is a handful of
// elements of a few hundred bytes (more with Cert or Chain).
const (
	MaxXFCCSize     = 16 << 10
	MaxXFCCElements = 16
)

// XFCCElement is one element of an x-forwarded-client-cert header: what one
// proxy knew about the client certificate on its downstream connection.
type XFCCElement struct {
	By      []string // URI SANs of the proxy's own certificate
	Hash    string   // SHA-256 of the client certificate, hex
	Cert    string   // URL-encoded PEM of the client certificate
	Chain   string   // URL-encoded PEM of the client certificate chain
	Subject string   // subject DN of the client certificate
	URI     []string // URI SANs of the client certificate
	DNS     []string // DNS SANs of the client certificate
}

// ParseXFCC parses an x-forwarded-client-cert header in Envoy's format:
// elements separated by ',', key=value pairs by ';', keys (case-insensitive)
// By, Hash, Cert, Chain, Subject, URI and DNS, values optionally
// double-quoted with \" for a quote. By, URI and DNS may repeat.
//
// It is strict, because the result decides who the caller is: an unknown or
// repeated single-valued key, an empty element or pair, a stray quote, a
// control character, more than MaxXFCCElements elements or more than
// MaxXFCCSize bytes is an error wrapping ErrMalformedXFCC. Spaces and tabs
// are allowed only around the ',' between elements, where joining repeated
// headers puts them.
func ParseXFCC(v string) ([]XFCCElement, error) {
	if len(v) > MaxXFCCSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedXFCC, MaxXFCCSize)
	}
	p := xfccParser{s: v}
	var out []XFCCElement
	for {
		p.skipSpace()
		if len(out) == MaxXFCCElements {
			return nil, fmt.Errorf("%w: more than %d elements", ErrMalformedXFCC, MaxXFCCElements)
		}
		el, err := p.element()
		if err != nil {
			return nil, fmt.Errorf("%w: element %d: %w", ErrMalformedXFCC, len(out)+1, err)
		}
		out = append(out, el)
		p.skipSpace()
		if p.done() {
			return out, nil
		}
		p.i++ // the ',' that element() stopped at
	}
}

type xfccParser struct {
	s string
	i int
}

func (p *xfccParser) done() bool { return p.i >= len(p.s) }

func (p *xfccParser) skipSpace() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// element parses pairs up to the end of input or a ',' (left unconsumed).
func (p *xfccParser) element() (XFCCElement, error) {
	var el XFCCElement
	var seen uint8
	for {
		key, err := p.key()
		if err != nil {
			return el, err
		}
		val, err := p.value()
		if err != nil {
			return el, fmt.Errorf("%s: %w", key, err)
		}
		if err := el.set(key, val, &seen); err != nil {
			return el, err
		}
		if p.done() || p.s[p.i] == ',' || p.s[p.i] == ' ' || p.s[p.i] == '\t' {
			return el, nil
		}
		p.i++ // ';'
	}
}

func (p *xfccParser) key() (string, error) {
	start := p.i
	for !p.done() && isKeyChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.done() {
			return "", errors.New("empty element or pair")
		}
		return "", fmt.Errorf("unexpected %q where a key was expected", p.s[p.i])
	}
	if p.done() || p.s[p.i] != '=' {
		return "", fmt.Errorf("key %q without '='", p.s[start:p.i])
	}
	key := p.s[start:p.i]
	p.i++
	return key, nil
}

func isKeyChar(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// value parses a quoted or bare value and checks what follows it. A bare
// value runs to the next ';', ',', space or tab; '=' is allowed in it (it
// cannot be mistaken for a key) because Envoy does not quote URI SANs.
func (p *xfccParser) value() (string, error) {
	var v string
	if !p.done() && p.s[p.i] == '"' {
		var err error
		if v, err = p.quoted(); err != nil {
			return "", err
		}
	} else {
		start := p.i
		for !p.done() {
			c := p.s[p.i]
			if c == ';' || c == ',' || c == ' ' || c == '\t' {
				break
			}
			if c == '"' {
				return "", errors.New("quote inside an unquoted value")
			}
			if isCTL(c) {
				return "", fmt.Errorf("control character %q", c)
			}
			p.i++
		}
		v = p.s[start:p.i]
	}
	if !p.done() {
		switch p.s[p.i] {
		case ';', ',', ' ', '\t':
		default:
			return "", fmt.Errorf("unexpected %q after a value", p.s[p.i])
		}
		if c := p.s[p.i]; c == ' ' || c == '\t' {
			// Trailing space is allowed only before ',' or the end.
			j := p.i
			for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
				j++
			}
			if j < len(p.s) && p.s[j] != ',' {
				return "", errors.New("space inside an element")
			}
		}
	}
	return v, nil
}

// quoted parses "..." where \" stands for a quote; any other backslash is
// literal, as subject DNs use it for their own escapes. Envoy does not escape
// backslashes, so a quoted value ending in one is ambiguous; it reads as an
// escaped quote and the header fails as unterminated, which is the safe way
// to be wrong.
func (p *xfccParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	start := p.i
	escaped := false
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if !escaped {
				return p.s[start : p.i-1], nil
			}
			b.WriteString(p.s[start : p.i-1])
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '"':
			escaped = true
			b.WriteString(p.s[start:p.i])
			p.i++
			start = p.i // the quote is kept as the first byte of the next run
			p.i++
		case isCTL(c):
			return "", fmt.Errorf("control character %q", c)
		default:
			p.i++
		}
	}
	return "", errors.New("unterminated quoted value")
}

func isCTL(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

// set stores one pair; seen has a bit per single-valued key already set.
func (el *XFCCElement) set(key, val string, seen *uint8) error {
	var dst *string
	var bit uint8
	switch strings.ToLower(key) {
	case "by":
		el.By = append(el.By, val)
		return nil
	case "uri":
		el.URI = append(el.URI, val)
		return nil
	case "dns":
		el.DNS = append(el.DNS, val)
		return nil
	case "hash":
		dst, bit = &el.Hash, 1
	case "cert":
		dst, bit = &el.Cert, 2
	case "chain":
		dst, bit = &el.Chain, 4
	case "subject":
		dst, bit = &el.Subject, 8
	default:
		return fmt.Errorf("unknown key %q", key)
	}
	if *seen&bit != 0 {
		return fmt.Errorf("key %q repeated", key)
	}
	*seen |= bit
	*dst = val
	return nil
}
