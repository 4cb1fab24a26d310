package identity

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidSPIFFEID is wrapped by every error of ParseSPIFFEID.
var ErrInvalidSPIFFEID = errors.New("invalid SPIFFE ID")

const (
	spiffePrefix    = "spiffe://"
	maxSPIFFEIDSize = 2048
)

// SPIFFEID is a validated SPIFFE ID. Path is "" (the ID of the trust domain
// itself) or starts with "/".
type SPIFFEID struct {
	TrustDomain string
	Path        string
}

// String returns the ID as "spiffe://trust-domain/path".
func (id SPIFFEID) String() string { return spiffePrefix + id.TrustDomain + id.Path }

// ParseSPIFFEID validates s per the SPIFFE ID spec: scheme "spiffe" (in
// lowercase), a trust domain of [a-z0-9._-], path segments of
// [A-Za-z0-9._-] that are neither empty, "." nor "..", no query, fragment,
// port, userinfo or percent-encoding, and at most 2048 bytes. The character
// sets leave no room for two spellings of one ID, which is what makes IDs
// safe to compare as strings.
func ParseSPIFFEID(s string) (SPIFFEID, error) {
	if len(s) > maxSPIFFEIDSize {
		return SPIFFEID{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidSPIFFEID, maxSPIFFEIDSize)
	}
	rest, ok := strings.CutPrefix(s, spiffePrefix)
	if !ok {
		return SPIFFEID{}, fmt.Errorf("%w: scheme is not %q", ErrInvalidSPIFFEID, spiffePrefix)
	}
	td, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		td, path = rest[:i], rest[i:]
	}
	if err := checkTrustDomain(td); err != nil {
		return SPIFFEID{}, err
	}
	if err := checkPath(path); err != nil {
		return SPIFFEID{}, err
	}
	return SPIFFEID{TrustDomain: td, Path: path}, nil
}

// checkTrustDomain rejects anything but [a-z0-9._-]+, which also rules out
// a port (':'), userinfo ('@'), a query ('?') and a fragment ('#').
func checkTrustDomain(td string) error {
	if td == "" {
		return fmt.Errorf("%w: trust domain is empty", ErrInvalidSPIFFEID)
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%w: trust domain has character %q (allowed: a-z 0-9 . - _)", ErrInvalidSPIFFEID, c)
		}
	}
	return nil
}

func checkPath(path string) error {
	if path == "" {
		return nil
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: path has an empty segment", ErrInvalidSPIFFEID)
		case ".", "..":
			return fmt.Errorf("%w: path has a %q segment", ErrInvalidSPIFFEID, seg)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
				return fmt.Errorf("%w: path has character %q (allowed: A-Z a-z 0-9 . - _)", ErrInvalidSPIFFEID, c)
			}
		}
	}
	return nil
}
