package harness

import (
	"net/http"
	"strings"
)

// headerMap is an Envoy header map: lower-case keys in order, pseudo-headers
// (":method", ":path", ":authority", ":scheme", ":status") included.
// Envoy "internally uses the HTTP/2 :authority header to represent the HTTP/1
// Host header" (route_components.proto, RouteAction.cluster_header).
type headerMap struct {
	kv [][2]string
}

func (m *headerMap) get(k string) (string, bool) {
	k = strings.ToLower(k)
	for _, p := range m.kv {
		if p[0] == k {
			return p[1], true
		}
	}
	return "", false
}

func (m *headerMap) value(k string) string { v, _ := m.get(k); return v }

// joined is every value of k joined with ",", as Envoy's header matchers see
// a repeated header (route_components.proto, HeaderMatcher).
func (m *headerMap) joined(k string) (string, bool) {
	k = strings.ToLower(k)
	var vs []string
	for _, p := range m.kv {
		if p[0] == k {
			vs = append(vs, p[1])
		}
	}
	return strings.Join(vs, ","), len(vs) > 0
}

func (m *headerMap) has(k string) bool { _, ok := m.get(k); return ok }

func (m *headerMap) add(k, v string) { m.kv = append(m.kv, [2]string{strings.ToLower(k), v}) }

// set replaces every value of k with v, keeping the first one's position.
func (m *headerMap) set(k, v string) {
	k = strings.ToLower(k)
	out := m.kv[:0]
	done := false
	for _, p := range m.kv {
		if p[0] == k {
			if done {
				continue
			}
			p[1], done = v, true
		}
		out = append(out, p)
	}
	m.kv = out
	if !done {
		m.kv = append(m.kv, [2]string{k, v})
	}
}

func (m *headerMap) del(k string) {
	k = strings.ToLower(k)
	out := m.kv[:0]
	for _, p := range m.kv {
		if p[0] != k {
			out = append(out, p)
		}
	}
	m.kv = out
}

func (m *headerMap) clone() headerMap {
	return headerMap{kv: append([][2]string(nil), m.kv...)}
}

// fromHTTP copies regular headers (net/http has already split off the
// pseudo-headers).
func (m *headerMap) fromHTTP(h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			m.add(k, v)
		}
	}
}

// toHTTP returns the regular headers, hop-by-hop and pseudo-headers left out.
func (m *headerMap) toHTTP() http.Header {
	h := http.Header{}
	for _, p := range m.kv {
		if strings.HasPrefix(p[0], ":") || hopByHop[p[0]] {
			continue
		}
		h.Add(p[0], p[1])
	}
	return h
}

// hopByHop are connection-specific headers a proxy does not forward
// (RFC 9110 §7.6.1); Envoy's codecs drop them too.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "trailer": true,
}
