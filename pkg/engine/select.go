package engine

import (
	"strconv"
	"strings"
)

// Meta is what Envoy tells agentguard about an exchange besides headers:
// the gRPC initial metadata and the attributes of the first message.
type Meta struct {
	// Profile is x-agentguard-profile from the stream's gRPC metadata (set by
	// Envoy per listener or route with grpc_initial_metadata).
	Profile string
	// DestinationPort is the destination.port attribute, 0 when not sent.
	DestinationPort int
	// PeerURISANs is connection.uri_san_peer_certificate, when Envoy
	// terminates mTLS itself.
	PeerURISANs []string
	// RequestBodyMode is how Envoy will send the request body, from the
	// protocol_config of the first message; BodyModeUnchanged when unknown.
	RequestBodyMode BodyMode
	// Adapter names the Envoy API that asked ("ext_proc", "ext_authz"),
	// for the audit record.
	Adapter string
	// LimitsCharged: an ext_authz Check in the same proxy already charged
	// this request's limits (a waypoint with both attachments). The
	// stream then takes nothing and only corrects the estimate with the
	// real usage, so a request is charged once. Set from Envoy's config
	// (gRPC initial metadata), never from a client header.
	LimitsCharged bool
}

// selectProfile picks the profile: Envoy's explicit choice first, then the
// matchers in config order, then the default. A name Envoy sends that does
// not exist is not silently replaced by a matcher: it is a deployment error.
func (rt *Runtime) selectProfile(m *Meta, h Header) (*Profile, bool) {
	if m.Profile != "" {
		p, ok := rt.byName[m.Profile]
		return p, ok
	}
	host := hostOnly(h.Get(":authority"))
	path := h.Get(":path")
	for _, p := range rt.profiles {
		if p.matches(m.DestinationPort, host, path) {
			return p, true
		}
	}
	return rt.fallback, rt.fallback != nil
}

func (p *Profile) matches(port int, host, path string) bool {
	mt := &p.cfg.Match
	if len(mt.Ports) == 0 && len(mt.Authorities) == 0 && len(mt.PathPrefixes) == 0 {
		return false // a profile without matchers is only chosen by name
	}
	if len(mt.Ports) > 0 && !containsInt(mt.Ports, port) {
		return false
	}
	if len(mt.Authorities) > 0 && !containsFold(mt.Authorities, host) {
		return false
	}
	if len(mt.PathPrefixes) > 0 && !hasAnyPrefix(path, mt.PathPrefixes) {
		return false
	}
	return true
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func containsFold(xs []string, s string) bool {
	for _, v := range xs {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// hostOnly strips a port from an authority ("api.example.com:443").
func hostOnly(authority string) string {
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.Contains(authority[i:], "]") {
		if _, err := strconv.Atoi(authority[i+1:]); err == nil {
			return authority[:i]
		}
	}
	return authority
}
