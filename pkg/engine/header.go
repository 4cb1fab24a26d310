package engine

import "strings"

// Header is an HTTP header map with lowercase names, as Envoy sends them
// (HTTP/2 style, pseudo-headers such as :path included). Repeated headers
// are joined with ",".
type Header map[string]string

// Get returns the value of a lowercase header name.
func (h Header) Get(name string) string { return h[name] }

// Lookup is Get with presence.
func (h Header) Lookup(name string) (string, bool) {
	v, ok := h[name]
	return v, ok
}

// Add appends a value, joining repeats as HTTP allows.
func (h Header) Add(name, value string) {
	name = strings.ToLower(name)
	if old, ok := h[name]; ok {
		h[name] = old + "," + value
		return
	}
	h[name] = value
}

// regular returns the headers policies may read: no pseudo-headers.
func (h Header) regular() map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if !strings.HasPrefix(k, ":") {
			out[k] = v
		}
	}
	return out
}

// HeaderValue is one header to set.
type HeaderValue struct {
	Name, Value string
}
