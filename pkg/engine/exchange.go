package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentguard/agentguard/pkg/identity"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

type phase int

const (
	phaseStart     phase = iota
	phaseAwaitBody       // request headers seen, the body decides
	phaseForwarded       // the request went upstream
	phaseResponse        // response headers seen
	phaseDone            // agentguard replied; nothing more is expected
)

// ErrOutOfOrder is returned (wrapped) when Envoy's messages do not follow the
// ext_proc conversation.
var ErrOutOfOrder = errors.New("ext_proc message out of order")

// Exchange is one HTTP request and its response, as one ext_proc stream
// sees it. All per-stream state lives here. Not safe for concurrent use.
type Exchange struct {
	e     *Engine
	rt    *Runtime
	ctx   context.Context
	meta  Meta
	start time.Time
	phase phase

	profile *Profile
	header  Header
	req     policy.Request
	agent   policy.Agent
	// pending is a denial found at request headers but sent with the body,
	// so that a protocol that needs the body to address its error (MCP's
	// JSON-RPC id) can.
	pending *denial

	body      []byte // request body so far
	heldBack  bool   // earlier streamed chunks were withheld from upstream
	busy      time.Duration
	msgCtx    context.Context
	msgCancel context.CancelFunc

	mcp  mcpState
	llm  llmState
	insp inspectState
	lim  limitState

	rec      telemetry.Record
	lastErr  error // the internal failure, for offline evaluation
	decided  bool
	finished bool
}

// Profile returns the selected profile's name ("" before selection).
func (x *Exchange) Profile() string {
	if x.profile == nil {
		return ""
	}
	return x.profile.Name
}

// RequestHeaders handles the request headers. end is true when the request
// has no body.
func (x *Exchange) RequestHeaders(h Header, end bool) Result {
	defer x.timed()()
	if x.phase != phaseStart {
		return x.fail(fmt.Errorf("%w: request headers twice", ErrOutOfOrder))
	}
	x.header = h
	x.req = policy.Request{
		Method: h.Get(":method"), Path: h.Get(":path"), Host: h.Get(":authority"),
		ID: h.Get("x-request-id"), Headers: h.regular,
	}
	x.rec.RequestID, x.rec.Method, x.rec.Path = x.req.ID, x.req.Method, pathOnly(x.req.Path)

	p, ok := x.rt.selectProfile(&x.meta, h)
	if !ok {
		msg := "no profile matches this request"
		if x.meta.Profile != "" {
			x.e.log.Warn("Envoy named a profile the config does not have", "profile", x.meta.Profile)
			msg = "unknown profile"
		}
		x.phase = phaseDone
		return x.deny(denial{status: 403, kind: denyPolicy, rule: "builtin:no-profile", message: msg})
	}
	x.profile = p
	x.rec.Profile = p.Name
	x.identify(h)
	if !normalizedPath(x.req.Path) && x.pending == nil {
		// Rules match paths as text: /webhook/../admin must not pass a
		// rule written for /webhook. Envoy normalizes paths when
		// configured to (normalize_path, merge_slashes); agentguard refuses
		// what it would otherwise misread.
		x.pending = &denial{status: 400, kind: denyMalformed, rule: "builtin:path-not-normalized", message: "request path is not normalized"}
	}

	x.phase = phaseAwaitBody
	r := x.routeHeaders()
	if end || !p.handler.needsBody(x) {
		if x.pending != nil {
			return x.deny(*x.pending)
		}
		d := p.handler.decide(x, nil)
		if d.Reply != nil {
			return d
		}
		if !end {
			x.phase = phaseForwarded // the body passes through unread
		}
		d.SetHeaders = append(r.SetHeaders, d.SetHeaders...)
		d.RemoveHeaders = append(r.RemoveHeaders, d.RemoveHeaders...)
		d.ClearRouteCache = d.ClearRouteCache || r.ClearRouteCache
		return d
	}
	switch x.meta.RequestBodyMode {
	case BodyNone:
		// Envoy will not send the body this profile decides on; answering
		// CONTINUE would let the call reach the server unread.
		return x.fail(errors.New("Envoy's request_body_mode is NONE on a profile that needs the body; configure BUFFERED"))
	case BodyModeUnchanged:
		// An Envoy that does not say how it sends bodies: ask for BUFFERED
		// (honoured with allow_mode_override) and read it as such. Were
		// the body streamed after all, a cut JSON body fails to parse.
		r.RequestBodyMode = BodyBuffered
		x.meta.RequestBodyMode = BodyBuffered
	}
	return r
}

// identify resolves the agent, recording a pending denial when the profile
// requires an identity and none is acceptable.
func (x *Exchange) identify(h Header) {
	p := x.profile
	id, err := p.resolver.Resolve(identity.Request{Header: h.Lookup, PeerURISANs: x.meta.PeerURISANs})
	switch {
	case err == nil:
		x.agent = x.rt.agentFor(id)
		if x.agent.Name == "" {
			// Authenticated but not a configured agent: policies see the
			// identity; only tool rules for everyone cover it.
			x.rec.Agent = "unknown"
		}
	case errors.Is(err, identity.ErrNoIdentity) && p.cfg.Identity.AllowAnonymous:
		x.agent = policy.Agent{}
	case errors.Is(err, identity.ErrNoIdentity):
		x.pending = &denial{status: 403, kind: denyUnauthenticated, rule: "builtin:no-identity", message: "no agent identity"}
	default:
		// Never echo the header, not even in part: it is the client's, and
		// may be crafted. The log names the class of the problem only.
		x.e.log.Debug("identity rejected", "profile", p.Name, "reason", identityProblem(err))
		x.pending = &denial{status: 403, kind: denyUnauthenticated, rule: "builtin:bad-identity", message: "agent identity not accepted"}
	}
	if x.agent.Name != "" {
		x.rec.Agent = x.agent.Name
	}
	x.rec.SPIFFE, x.rec.IDSource = x.agent.SPIFFE, x.agent.Source
}

// routeHeaders computes the request header mutations known at headers time.
func (x *Exchange) routeHeaders() Result {
	var r Result
	if rm, ok := x.profile.handler.(interface{ route(*Exchange, *Result) }); ok && x.pending == nil {
		rm.route(x, &r)
	}
	x.stripInternal(&r)
	return r
}

// stripInternal removes headers in agentguard's namespace that the client
// sent: only agentguard may speak for itself to Envoy and upstreams.
func (x *Exchange) stripInternal(r *Result) {
	if x.agent.Name != "" && x.profile.Protocol != "openai" && x.profile.Protocol != "anthropic" {
		// Upstreams in the mesh learn the verified agent; a third-party
		// LLM provider does not.
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "x-agentguard-agent", Value: x.agent.Name})
	}
	for k := range x.header {
		if strings.HasPrefix(k, "x-agentguard-") && !r.sets(k) {
			r.RemoveHeaders = append(r.RemoveHeaders, k)
		}
	}
}

func (r *Result) sets(name string) bool {
	for _, h := range r.SetHeaders {
		if h.Name == name {
			return true
		}
	}
	return false
}

// RequestBody handles a request body message: the whole body when Envoy
// buffers it, or one chunk when it streams.
func (x *Exchange) RequestBody(chunk []byte, end bool) Result {
	defer x.timed()()
	switch x.phase {
	case phaseForwarded:
		return Result{} // decided at headers; the body is not read
	case phaseAwaitBody:
	default:
		return x.fail(fmt.Errorf("%w: request body in phase %d", ErrOutOfOrder, x.phase))
	}
	switch x.meta.RequestBodyMode {
	case BodyFullDuplex:
		return x.fail(errors.New("request_body_mode FULL_DUPLEX_STREAMED is not supported; configure BUFFERED"))
	case BodyBufferedPartial:
		if !end {
			// The rest of this body would reach upstream unread.
			return x.deny(denial{status: 413, kind: denyTooLarge, rule: "builtin:body-too-large",
				message: "request body exceeds Envoy's buffer limit"})
		}
	}
	if int64(len(x.body))+int64(len(chunk)) > x.profile.maxBody {
		x.body = nil
		return x.deny(denial{status: 413, kind: denyTooLarge, rule: "builtin:body-too-large",
			message: fmt.Sprintf("request body exceeds %d bytes", x.profile.maxBody)})
	}
	x.body = append(x.body, chunk...)
	complete := end || x.meta.RequestBodyMode == BodyBuffered
	if !complete {
		// Streamed: withhold each chunk until the whole body is decided.
		x.heldBack = true
		var r Result
		r.replace([]byte{})
		return r
	}
	return x.decideBody()
}

// RequestTrailers ends a request whose body was streamed without an
// end-of-stream body message.
func (x *Exchange) RequestTrailers() Result {
	defer x.timed()()
	if x.phase != phaseAwaitBody {
		return Result{}
	}
	if x.heldBack {
		// The withheld body can no longer be re-sent: a trailers answer
		// carries no body.
		return x.fail(errors.New("request body withheld and trailers ended the stream"))
	}
	return x.decideBody()
}

func (x *Exchange) decideBody() Result {
	if x.pending != nil {
		return x.deny(*x.pending)
	}
	r := x.profile.handler.decide(x, x.body)
	if r.Reply == nil && x.heldBack && !r.BodySet {
		r.replace(x.body)
	}
	return r
}

// ResponseHeaders handles the upstream's response headers.
func (x *Exchange) ResponseHeaders(h Header, end bool) Result {
	defer x.endMessage()
	switch x.phase {
	case phaseForwarded:
	case phaseAwaitBody:
		// The request went upstream without agentguard seeing its body:
		// Envoy is misconfigured (request body mode NONE and overrides not
		// allowed). Fail rather than pretend it was governed.
		r := x.fail(errors.New("response arrived before the request body was inspected; check the Envoy request_body_mode"))
		if r.Reply == nil {
			x.phase = phaseResponse // failed open: the rest passes untouched
			r.ResponseBodyMode = BodyNone
		}
		return r
	default:
		return x.fail(fmt.Errorf("%w: response headers in phase %d", ErrOutOfOrder, x.phase))
	}
	x.phase = phaseResponse
	status := atoi(h.Get(":status"))
	x.rec.Status = status
	if end {
		return Result{}
	}
	return x.profile.handler.responseHeaders(x, status, h)
}

// ResponseBody handles the response body, whole or one chunk.
func (x *Exchange) ResponseBody(chunk []byte, end bool) Result {
	defer x.endMessage()
	if x.phase != phaseResponse {
		return x.fail(fmt.Errorf("%w: response body in phase %d", ErrOutOfOrder, x.phase))
	}
	r, err := x.profile.handler.responseBody(x, chunk, end)
	if err != nil {
		if f := x.fail(err); f.Reply != nil {
			return f
		}
		return r // failed open: what the handler passes through
	}
	return r
}

// allow records an allow decision and returns the request mutations.
func (x *Exchange) allow(d policy.Decision, r *Result) Result {
	x.decided = true
	x.rec.Decision, x.rec.Rule = "allow", d.Rule
	if r == nil {
		r = &Result{}
	}
	if x.phase == phaseAwaitBody {
		x.phase = phaseForwarded
	}
	return *r
}

// deny ends the exchange with a reply in the client's protocol.
func (x *Exchange) deny(d denial) Result {
	// Refused after limits charged it (ext_authz cannot carry a rewrite):
	// what was not forwarded is not counted.
	x.refundLimits()
	x.decided = true
	x.phase = phaseDone
	x.rec.Decision, x.rec.Rule, x.rec.Reason, x.rec.Status = "deny", d.rule, d.message, d.status
	if d.kind == denyUnavailable {
		x.rec.Decision = "error"
	}
	var h handler = httpHandler{}
	if x.profile != nil {
		h = x.profile.handler
	}
	reply := h.reject(x, d)
	reply.Details = "agentguard_" + detailsWord(d)
	if d.limit != nil {
		reply.Headers = append(reply.Headers, d.limit.headers...)
	}
	return Result{Reply: reply}
}

// fail applies the failure mode to an internal error. It is counted and
// logged; the error text never reaches the client.
func (x *Exchange) fail(err error) Result {
	open := x.rt.failOpen
	name := "none"
	if x.profile != nil {
		open, name = x.profile.failOpen, x.profile.Name
	}
	mode := "closed"
	if open {
		mode = "open"
	}
	x.e.metrics.Failures.WithLabelValues(name, mode).Inc()
	x.e.log.Error("exchange failed", "profile", name, "request_id", x.req.ID, "mode", mode, "err", err)
	x.lastErr = err
	if x.phase == phaseResponse || x.phase == phaseForwarded && x.decided {
		// The request already reached the upstream: its decision stands.
		x.rec.ResponseErr = "agentguard failed on the response (failure mode " + mode + ")"
		if open {
			x.rec.FailedOpen = true
			return Result{}
		}
		x.phase = phaseDone
		var h handler = x.profile.handler
		reply := h.reject(x, denial{status: 500, kind: denyUnavailable, rule: "builtin:internal-error",
			message: "agentguard could not process the response"})
		reply.Details = "agentguard_internal_error"
		return Result{Reply: reply}
	}
	if open && x.phase != phaseDone {
		x.rec.FailedOpen = true
		if !x.decided {
			x.decided = true
			x.rec.Decision, x.rec.Reason = "allow", "failed open"
		}
		if x.phase == phaseAwaitBody {
			x.phase = phaseForwarded
		}
		var r Result
		if x.heldBack {
			r.replace(x.body)
		}
		return r
	}
	return x.deny(denial{status: 500, kind: denyUnavailable, rule: "builtin:internal-error",
		message: "agentguard could not decide this request"})
}

// deadline is the context the work on the current Envoy message runs
// under: one decision_timeout per message, however many JSON-RPC calls a
// batch holds.
func (x *Exchange) deadline() context.Context {
	if x.msgCtx == nil {
		x.msgCtx, x.msgCancel = context.WithTimeout(x.ctx, x.rt.timeout)
	}
	return x.msgCtx
}

// timed adds the time until the returned func runs to the exchange's
// decision time (request phase only), and ends the message's deadline.
func (x *Exchange) timed() func() {
	t0 := time.Now()
	return func() {
		x.busy += time.Since(t0)
		x.endMessage()
	}
}

func (x *Exchange) endMessage() {
	if x.msgCancel != nil {
		x.msgCancel()
		x.msgCtx, x.msgCancel = nil, nil
	}
}

// decidePolicy runs the profile's policy over in under the message's
// deadline. A rule that failed to evaluate has denied; it is counted and
// logged for the operator (the client sees only the rule's id).
func (x *Exchange) decidePolicy(in *policy.Input) (policy.Decision, error) {
	d, err := x.profile.policy.Decide(x.deadline(), in)
	if d.EvalErr != nil {
		x.e.metrics.PolicyErrors.WithLabelValues(x.profile.Name, d.Rule).Inc()
		x.e.log.Warn("policy rule failed to evaluate; the request is denied", "profile", x.profile.Name,
			"rule", d.Rule, "request_id", x.req.ID, "err", d.EvalErr)
	}
	return d, err
}

// forwarded reports whether the request went upstream.
func (x *Exchange) forwarded() bool {
	return x.decided && x.rec.Decision == "allow"
}

// input is the policy input of the exchange, before protocol parts.
func (x *Exchange) input() policy.Input {
	return policy.Input{Profile: x.profile.Name, Protocol: x.profile.Protocol, Agent: x.agent, Request: x.req,
		Findings: x.insp.reqFindings}
}

func detailsWord(d denial) string {
	switch d.kind {
	case denyUnauthenticated:
		return "unauthenticated"
	case denyMalformed:
		return "malformed_request"
	case denyTooLarge:
		return "request_too_large"
	case denyUnavailable:
		return "internal_error"
	case denyRateLimited:
		return "rate_limited"
	}
	return "denied"
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i] // query strings may carry tokens
	}
	return p
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// normalizedPath reports whether the path (query excluded) is in the form
// Envoy's normalize_path and merge_slashes leave: no dot segments, no empty
// segments, no percent-encoded '.', '/' or '\', no backslashes.
func normalizedPath(p string) bool {
	p = pathOnly(p)
	if p == "" || p == "*" {
		return true // CONNECT, OPTIONS *
	}
	if p[0] != '/' || strings.Contains(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2e") || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// identityProblem names why an identity was refused without quoting it.
func identityProblem(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{identity.ErrMalformedXFCC, "malformed x-forwarded-client-cert"},
		{identity.ErrAmbiguousIdentity, "several SPIFFE IDs"},
		{identity.ErrUntrustedDomain, "untrusted trust domain"},
		{identity.ErrInvalidSPIFFEID, "invalid SPIFFE ID"},
		{identity.ErrNoSPIFFEID, "no SPIFFE ID"},
		{identity.ErrInvalidName, "invalid agent name"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "identity not accepted"
}
