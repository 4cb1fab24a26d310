package anthropic

import (
	"fmt"
	"strings"
)

// Endpoint is one Anthropic API operation whose body this package understands.
type Endpoint int

// Endpoints. The zero Endpoint is not valid.
const (
	Messages    Endpoint = iota + 1 // POST /v1/messages
	CountTokens                     // POST /v1/messages/count_tokens
)

func (e Endpoint) String() string {
	switch e {
	case Messages:
		return "messages"
	case CountTokens:
		return "count_tokens"
	}
	return fmt.Sprintf("Endpoint(%d)", int(e))
}

// EndpointFor returns the endpoint a request addresses. Only POST is
// recognised. The path may carry a query string; repeated slashes, a trailing
// slash and a missing /v1 prefix are tolerated, so that a variant the
// provider might accept is still inspected.
func EndpointFor(method, path string) (Endpoint, bool) {
	if method != "POST" {
		return 0, false
	}
	switch cleanPath(path) {
	case "/v1/messages", "/messages":
		return Messages, true
	case "/v1/messages/count_tokens", "/messages/count_tokens":
		return CountTokens, true
	}
	return 0, false
}

// cleanPath drops the query and fragment, collapses repeated slashes and
// drops a trailing slash.
func cleanPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if strings.Contains(p, "//") {
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && i > 0 && p[i-1] == '/' {
				continue
			}
			b.WriteByte(p[i])
		}
		p = b.String()
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
