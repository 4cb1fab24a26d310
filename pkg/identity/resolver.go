package identity

import (
	"errors"
	"fmt"
	"strings"
)

// Source is one place an agent's identity can come from.
type Source string

// The sources, strongest first.
const (
	SourceXFCC   Source = "xfcc"   // the last element of x-forwarded-client-cert
	SourcePeer   Source = "peer"   // the URI SAN of the peer certificate
	SourceHeader Source = "header" // a header the operator trusts, naming the agent
)

// XFCCHeader is the header SourceXFCC reads.
const XFCCHeader = "x-forwarded-client-cert"

// DefaultTrustHeader is the header SourceHeader reads unless configured.
const DefaultTrustHeader = "x-agent-id"

var (
	// ErrNoIdentity: no configured source was present.
	ErrNoIdentity = errors.New("identity: no identity source present")
	// ErrNoSPIFFEID: a source was present but held no SPIFFE ID.
	ErrNoSPIFFEID = errors.New("no SPIFFE ID")
	// ErrAmbiguousIdentity: a source held several different SPIFFE IDs.
	ErrAmbiguousIdentity = errors.New("several different SPIFFE IDs")
	// ErrUntrustedDomain: a SPIFFE ID outside Options.TrustDomains.
	ErrUntrustedDomain = errors.New("SPIFFE ID outside the trusted trust domains")
	// ErrInvalidName: the trusted header does not hold a valid agent name.
	ErrInvalidName = errors.New("invalid agent name")
)

const maxNameLen = 128

// Request is what the caller knows about the downstream request.
type Request struct {
	// Header looks a request header up by its lowercase name. Nil means no
	// headers.
	Header func(name string) (string, bool)
	// PeerURISANs is Envoy's connection.uri_san_peer_certificate attribute
	// (standalone Envoy with mTLS; empty in a waypoint).
	PeerURISANs []string
}

// Identity is who the agent is, and how we know.
type Identity struct {
	Source Source
	SPIFFE string // for SourceXFCC and SourcePeer: a validated SPIFFE ID
	Name   string // for SourceHeader: the claimed agent name, validated
}

// Options configures a Resolver.
type Options struct {
	// Sources to try, in order; each at most once.
	Sources []Source
	// TrustHeader is the header SourceHeader reads (DefaultTrustHeader if empty).
	TrustHeader string
	// TrustDomains, if non-empty, are the only trust domains whose SPIFFE IDs
	// are accepted.
	TrustDomains []string
}

// Resolver resolves an agent's identity from ordered sources. It is
// immutable and safe for concurrent use.
type Resolver struct {
	sources      []Source
	header       string
	trustDomains map[string]bool
}

// NewResolver checks o: at least one source, none unknown or repeated, a
// valid header name, valid trust domain names.
func NewResolver(o Options) (*Resolver, error) {
	var errs []error
	if len(o.Sources) == 0 {
		errs = append(errs, errors.New("no identity sources"))
	}
	seen := map[Source]bool{}
	for i, s := range o.Sources {
		switch s {
		case SourceXFCC, SourcePeer, SourceHeader:
		default:
			errs = append(errs, fmt.Errorf("sources[%d]: unknown source %q (want %q, %q or %q)", i, s, SourceXFCC, SourcePeer, SourceHeader))
			continue
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("sources[%d]: source %q repeated", i, s))
		}
		seen[s] = true
	}
	r := &Resolver{sources: append([]Source(nil), o.Sources...), header: strings.ToLower(o.TrustHeader)}
	if seen[SourceHeader] {
		if r.header == "" {
			r.header = DefaultTrustHeader
		}
		if !isToken(r.header) {
			errs = append(errs, fmt.Errorf("trust header %q is not a valid header name", o.TrustHeader))
		} else if r.header == XFCCHeader {
			errs = append(errs, fmt.Errorf("trust header must not be %s", XFCCHeader))
		}
	}
	if len(o.TrustDomains) > 0 {
		r.trustDomains = make(map[string]bool, len(o.TrustDomains))
		for i, td := range o.TrustDomains {
			if err := checkTrustDomain(td); err != nil {
				errs = append(errs, fmt.Errorf("trust_domains[%d]: %w", i, err))
			}
			r.trustDomains[td] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return r, nil
}

// Resolve tries the sources in order and returns the first identity found.
// An absent source is skipped. A present source that is malformed, holds no
// or several SPIFFE IDs, or is outside the trust domains is an error: falling
// through to the next, weaker source would let a client downgrade its
// identity by sending garbage. With no source present it returns
// ErrNoIdentity.
func (r *Resolver) Resolve(req Request) (Identity, error) {
	for _, src := range r.sources {
		id, ok, err := r.from(src, req)
		if err != nil {
			return Identity{}, fmt.Errorf("identity: source %s: %w", src, err)
		}
		if ok {
			return id, nil
		}
	}
	return Identity{}, ErrNoIdentity
}

func (r *Resolver) from(src Source, req Request) (Identity, bool, error) {
	switch src {
	case SourceXFCC:
		v, ok := header(req, XFCCHeader)
		if !ok {
			return Identity{}, false, nil
		}
		els, err := ParseXFCC(v)
		if err != nil {
			return Identity{}, true, err
		}
		// The proxy nearest to us (the waypoint) appends its element last;
		// earlier elements were written by hops we cannot vouch for.
		id, err := r.spiffe(els[len(els)-1].URI)
		if errors.Is(err, ErrNoSPIFFEID) {
			err = fmt.Errorf("%w in the last element (an Istio waypoint adds it only with the Gateway annotation ambient.istio.io/xfcc-include-client-identity: \"true\")", err)
		}
		return Identity{Source: src, SPIFFE: id}, true, err
	case SourcePeer:
		if len(req.PeerURISANs) == 0 {
			return Identity{}, false, nil
		}
		id, err := r.spiffe(req.PeerURISANs)
		return Identity{Source: src, SPIFFE: id}, true, err
	case SourceHeader:
		v, ok := header(req, r.header)
		if !ok {
			return Identity{}, false, nil
		}
		if !validName(v) {
			return Identity{}, true, fmt.Errorf("%w in %s: want 1-%d characters of [A-Za-z0-9._-]", ErrInvalidName, r.header, maxNameLen)
		}
		return Identity{Source: src, Name: v}, true, nil
	}
	return Identity{}, false, fmt.Errorf("unknown source %q", src) // unreachable: NewResolver checked
}

// spiffe picks the one SPIFFE ID among URIs. Any URI whose scheme is spiffe
// in any case counts, so "SPIFFE://..." is an invalid ID, not a way to hide
// one. Repeats of the same ID are tolerated.
func (r *Resolver) spiffe(uris []string) (string, error) {
	var found string
	for _, u := range uris {
		if len(u) < len(spiffePrefix) || !strings.EqualFold(u[:len(spiffePrefix)], spiffePrefix) {
			continue
		}
		if found != "" && u != found {
			return "", ErrAmbiguousIdentity
		}
		found = u
	}
	if found == "" {
		return "", ErrNoSPIFFEID
	}
	id, err := ParseSPIFFEID(found)
	if err != nil {
		return "", err
	}
	if r.trustDomains != nil && !r.trustDomains[id.TrustDomain] {
		return "", fmt.Errorf("%w: %q", ErrUntrustedDomain, id.TrustDomain)
	}
	return found, nil
}

func header(req Request, name string) (string, bool) {
	if req.Header == nil {
		return "", false
	}
	return req.Header(name)
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isToken reports whether s is an HTTP field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
