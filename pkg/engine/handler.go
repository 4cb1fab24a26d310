package engine

import (
	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/policy"
)

// handler is one protocol's part of the pipeline. Each Exchange holds its
// protocol's per-stream state in its own fields; a handler is stateless and
// shared.
type handler interface {
	// needsBody reports whether the request body must be seen to decide.
	needsBody(x *Exchange) bool
	// decide decides the request; body is nil when the request has none.
	decide(x *Exchange, body []byte) Result
	// reject renders a denial or failure in the client's protocol.
	reject(x *Exchange, d denial) *Reply
	// responseHeaders says how to treat the response body.
	responseHeaders(x *Exchange, status int, h Header) Result
	// responseBody handles one response body message (all of it when
	// buffered, a chunk when streamed).
	responseBody(x *Exchange, chunk []byte, end bool) (Result, error)
}

func newHandler(p *config.Profile) (handler, error) {
	switch p.Protocol {
	case "mcp":
		return &mcpHandler{cfg: p.MCP}, nil
	case "openai", "anthropic":
		return newLLMHandler(p)
	case "webhook":
		return newWebhookHandler(p), nil
	}
	return httpHandler{}, nil
}

// denial is a reason not to forward a request, before rendering.
type denial struct {
	status  int
	kind    denialKind
	rule    string
	message string
	// limit is set when a limit refused the request: its reply headers
	// and what the client's protocol says of it.
	limit *limitRefusal
}

type denialKind int

const (
	denyPolicy denialKind = iota
	denyUnauthenticated
	denyMalformed
	denyTooLarge
	denyUnavailable // agentguard failed, failing closed
	denyRateLimited // a rate limit or budget refused it (429)
)

func policyDenial(d policy.Decision) denial {
	return denial{status: 403, kind: denyPolicy, rule: d.Rule, message: d.Message}
}

// httpHandler governs plain HTTP: identity and CEL over the request line and
// headers. Bodies are not read.
type httpHandler struct{}

func (httpHandler) needsBody(*Exchange) bool { return false }

func (httpHandler) decide(x *Exchange, _ []byte) Result {
	in := x.input()
	d, err := x.decidePolicy(&in)
	if err != nil {
		return x.fail(err)
	}
	if !d.Allow {
		return x.deny(policyDenial(d))
	}
	if r := x.takeLimits(&in); r != nil {
		return *r
	}
	return x.allow(d, nil)
}

func (httpHandler) reject(x *Exchange, d denial) *Reply {
	return jsonReply(d.status, plainErrorBody(d))
}

func (httpHandler) responseHeaders(*Exchange, int, Header) Result { return Result{} }

func (httpHandler) responseBody(*Exchange, []byte, bool) (Result, error) { return Result{}, nil }
