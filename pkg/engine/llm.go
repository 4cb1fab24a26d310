package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/credentials"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/pricing"
	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// llmHandler governs a provider API (OpenAI or Anthropic): it injects the
// provider credential, parses the request with the provider's codec,
// decides on model and policy, routes by model, and reads usage from the
// response — JSON or a stream — to count tokens and cost.
type llmHandler struct {
	cfg      *config.LLM
	codec    llmCodec
	cred     credentials.Source
	perAgent map[string]credentials.Source
	models   []modelRule
}

type modelRule struct {
	id     string
	agents map[string]bool
	groups map[string]bool
	anyone bool
	allow  []string
}

// llmState is the LLM part of an Exchange.
type llmState struct {
	req          *llmRequest
	endpoint     string
	workflow     string
	addedUsage   bool // agentguard asked for stream usage the client did not
	json         bool
	sse          *sse.Scanner
	stream       llmStream
	usage        llmUsage
	respModel    string
	usageKnown   bool
	usageMissing bool
	modelRule    string // the rule that granted the model
	jsonBuf      []byte // a JSON answer so far, to read usage from at its end
	// replaceAuthError is the status of a provider 401/403 whose body is
	// replaced.
	replaceAuthError int
	incomplete       bool // the stream ended before its terminal event
	redacted         bool // the request body was redacted
	// resp inspects the answer: a buffered JSON body, or a stream's text.
	resp *llmResponseInspect
}

// maxUsageJSON bounds the copy of a JSON answer kept to read usage from.
const maxUsageJSON = 16 << 20

func newLLMHandler(p *config.Profile) (*llmHandler, error) {
	h := &llmHandler{cfg: p.LLM, perAgent: map[string]credentials.Source{}}
	switch p.Protocol {
	case "openai":
		h.codec = openaiCodec{}
	case "anthropic":
		h.codec = anthropicCodec{}
	default:
		return nil, fmt.Errorf("no LLM codec for protocol %q", p.Protocol)
	}
	h.cred = p.LLM.Credential.Source()
	for name, c := range p.LLM.AgentCredentials {
		h.perAgent[name] = c.Source()
	}
	for _, m := range p.LLM.Models {
		r := modelRule{id: m.ID, agents: set(m.Agents), groups: set(m.Groups), allow: m.Allow,
			anyone: len(m.Agents) == 0 && len(m.Groups) == 0}
		h.models = append(h.models, r)
	}
	return h, nil
}

func set(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func (h *llmHandler) needsBody(*Exchange) bool { return true }

// route runs at request headers: the client's credentials go, the
// provider's come, so no agent ever holds or chooses the key.
func (h *llmHandler) route(x *Exchange, r *Result) {
	defer func() {
		// Remove the client's credential headers, except the one the
		// provider's key overwrites.
		for _, name := range credentials.ClientHeaders {
			if _, ok := x.header[name]; ok && !r.sets(name) {
				r.RemoveHeaders = append(r.RemoveHeaders, name)
			}
		}
	}()
	src := h.cred
	if s, ok := h.perAgent[x.agent.Name]; ok && x.agent.Name != "" {
		src = s
	}
	secret, err := src.Credential()
	if err != nil {
		x.e.log.Error("provider credential unavailable", "profile", x.profile.Name, "source", src.Describe(), "err", err)
		x.pending = &denial{status: 500, kind: denyUnavailable, rule: "builtin:no-credential", message: "the provider credential is not available"}
		return
	}
	for _, hv := range credentials.Headers(h.codec.scheme(), secret) {
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: hv.Name, Value: hv.Value})
	}
	if v := h.cfg.AnthropicVersion; v != "" && x.header.Get("anthropic-version") == "" {
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "anthropic-version", Value: v})
	}
	x.llm.workflow = validWorkflow(x.header.Get(h.cfg.WorkflowHeader))
	// Usage is read from the response: ask for it uncompressed, or any
	// client could switch accounting off by sending Accept-Encoding.
	r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "accept-encoding", Value: "identity"})
	// The provider is a third party: it learns nothing of the mesh.
	for _, name := range []string{"x-forwarded-client-cert", x.profile.cfg.Identity.TrustHeader, h.cfg.WorkflowHeader} {
		if _, ok := x.header[name]; ok {
			r.RemoveHeaders = append(r.RemoveHeaders, name)
		}
	}
}

func (h *llmHandler) decide(x *Exchange, body []byte) Result {
	ep, known := h.codec.endpoint(x.req.Method, x.req.Path)
	in := x.input()
	in.LLM = &policy.LLM{Provider: h.codec.provider()}
	switch {
	case !known && !h.cfg.AllowUnknownEndpoints:
		// Nothing in it would be inspected or counted.
		return x.deny(denial{status: 404, kind: denyPolicy, rule: "builtin:unknown-endpoint",
			message: "this endpoint is not governed by agentguard"})
	case !known:
		return h.decidePolicy(x, &in, nil)
	case body == nil:
		return x.deny(denial{status: 400, kind: denyMalformed, rule: "builtin:malformed", message: "request body required"})
	}
	x.llm.endpoint = ep.name
	req, err := h.codec.parse(ep, body)
	if err != nil {
		var ce *codecError
		if errors.As(err, &ce) {
			x.llm.req = nil
			return x.deny(denial{status: ce.status, kind: denyMalformed, rule: "builtin:malformed", message: ce.message})
		}
		return x.fail(err)
	}
	x.llm.req = req
	in.LLM = req.policyView(h.codec.provider(), ep.name)
	rule, ok := h.modelAllowed(&x.agent, req.model)
	if !ok {
		return x.deny(denial{status: 403, kind: denyPolicy, rule: rule,
			message: fmt.Sprintf("model %q is not allowed for this agent", req.model)})
	}
	x.llm.modelRule = rule
	sc := x.scan(dirRequest, req.texts)
	if d := sc.failed; d != nil {
		return x.deny(*d)
	}
	if d := sc.deny; d != nil {
		return x.deny(*d)
	}
	x.insp.reqFindings = policyFindings(sc.findings, sc.actions)
	in.Findings = x.insp.reqFindings
	nb, redacted, err := sc.redactJSON(body)
	if err != nil {
		return x.fail(err)
	}
	x.llm.redacted = redacted
	return h.decidePolicy(x, &in, nb)
}

func (h *llmHandler) decidePolicy(x *Exchange, in *policy.Input, body []byte) Result {
	d, err := x.decidePolicy(in)
	if err != nil {
		return x.fail(err)
	}
	if !d.Allow {
		return x.deny(policyDenial(d))
	}
	if d.Rule == "" {
		d.Rule = x.llm.modelRule // the decision names the rule that granted it
	}
	var r Result
	req := x.llm.req
	if req != nil {
		if c := h.routeFor(req.model); c != "" {
			r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: h.cfg.RouteHeader, Value: c})
			r.ClearRouteCache = true
		}
		out, changed := body, x.llm.redacted // redacted: the model sees the secrets masked
		if req.stream && !req.includeUsage {
			// Usage is always known: a stream the client did not ask usage
			// for gets it anyway, and agentguard drops the extra chunk on
			// the way back so the client sees the stream it asked for.
			nb, added, err := h.codec.ensureUsage(out)
			if err != nil {
				return x.fail(err)
			}
			if added {
				x.llm.addedUsage = true
				out, changed = nb, true
			}
		}
		if changed {
			r.replace(out)
			r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(out))})
		}
	}
	if lr := x.takeLimits(in); lr != nil {
		return *lr
	}
	return x.allow(d, &r)
}

func (h *llmHandler) modelAllowed(a *policy.Agent, model string) (string, bool) {
	if len(h.models) == 0 {
		return "", true
	}
	for i := range h.models {
		m := &h.models[i]
		if !m.anyone && !(a.Name != "" && m.agents[a.Name]) && !anyIn(a.Groups, m.groups) {
			continue
		}
		for _, p := range m.allow {
			if policy.Glob(p, model) {
				return m.id, true
			}
		}
	}
	return "builtin:model-not-allowed", false
}

func anyIn(xs []string, m map[string]bool) bool {
	for _, x := range xs {
		if m[x] {
			return true
		}
	}
	return false
}

func (h *llmHandler) routeFor(model string) string {
	for _, r := range h.cfg.Routes {
		for _, p := range r.Models {
			if policy.Glob(p, model) {
				return r.Cluster
			}
		}
	}
	return ""
}

func (h *llmHandler) reject(x *Exchange, d denial) *Reply {
	return jsonReply(d.status, h.codec.errorBody(d))
}

// accountHeaders name the provider account a key belongs to: agents learn
// nothing of the key they never held.
var accountHeaders = []string{"openai-organization", "openai-project", "anthropic-organization-id"}

func (h *llmHandler) responseHeaders(x *Exchange, status int, hd Header) Result {
	st := &x.llm
	var remove []string
	for _, name := range accountHeaders {
		if _, ok := hd[name]; ok {
			remove = append(remove, name)
		}
	}
	if status == 401 || status == 403 {
		// The provider refused agentguard's key; its message may quote part
		// of the key ("Incorrect API key provided: sk-…abcd"). The agent
		// gets the status and a message of agentguard's, in the provider's
		// shape.
		st.replaceAuthError = status
		return Result{ResponseBodyMode: BodyBuffered, RemoveHeaders: append(remove, "content-length")}
	}
	if st.req == nil || status < 200 || status > 299 {
		return Result{ResponseBodyMode: BodyNone, RemoveHeaders: remove}
	}
	if enc := strings.ToLower(hd.Get("content-encoding")); enc != "" && enc != "identity" {
		if x.profile.inspect.rewrites(dirResponse) {
			return x.fail(fmt.Errorf("an answer to inspect came with content-encoding %q", enc))
		}
		// Usage cannot be read from a compressed body; the request stands.
		st.usageMissing = true
		return Result{ResponseBodyMode: BodyNone}
	}
	ct := strings.ToLower(hd.Get("content-type"))
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		st.sse = sse.NewScanner(h.cfg.MaxEventBytes)
		st.stream = h.codec.newStream(st.req)
		st.resp = x.startResponseInspect(true)
		r := Result{ResponseBodyMode: BodyStreamed, RemoveHeaders: remove}
		if st.addedUsage || st.resp != nil && st.resp.rewrite {
			r.RemoveHeaders = append(r.RemoveHeaders, "content-length")
		}
		return r
	case strings.HasPrefix(ct, "application/json"):
		if st.resp = x.startResponseInspect(false); st.resp != nil && st.resp.rewrite {
			st.resp.buffered = true
			// A finding may change the answer: hold it whole, headers
			// included, so a withheld answer can still get its own status.
			return Result{ResponseBodyMode: BodyBuffered, RemoveHeaders: append(remove, "content-length")}
		}
		// Streamed, not buffered: a large JSON answer (embeddings, images)
		// must pass even when it exceeds Envoy's buffer; agentguard keeps a
		// bounded copy to read usage from.
		st.json = true
		return Result{ResponseBodyMode: BodyStreamed, RemoveHeaders: remove}
	}
	if x.profile.inspect.rewrites(dirResponse) {
		return x.fail(fmt.Errorf("an answer to inspect came with content-type %q", ct))
	}
	st.usageMissing = true
	return Result{ResponseBodyMode: BodyNone, RemoveHeaders: remove}
}

func (h *llmHandler) responseBody(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.llm
	switch {
	case st.replaceAuthError != 0:
		if !end {
			var r Result
			r.replace([]byte{})
			return r, nil
		}
		kind := denyUnauthenticated
		if st.replaceAuthError == 403 {
			kind = denyPolicy
		}
		body := h.codec.errorBody(denial{status: st.replaceAuthError, kind: kind,
			message: "the provider refused agentguard's credential for this request"})
		var r Result
		r.replace(body)
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(body))},
			HeaderValue{Name: "content-type", Value: "application/json"})
		return r, nil
	case st.resp != nil && st.resp.buffered:
		return h.bufferedAnswer(x, chunk, end)
	case st.json:
		if len(st.jsonBuf)+len(chunk) <= maxUsageJSON {
			st.jsonBuf = append(st.jsonBuf, chunk...)
		} else {
			st.jsonBuf, st.json = nil, false // too large to read usage from
			st.usageMissing = true
			return Result{}, nil
		}
		if !end {
			return Result{}, nil
		}
		u, model, err := h.codec.usageFromJSON(st.req, st.jsonBuf)
		if st.resp != nil {
			// Report only: the answer has gone; what it held is recorded.
			if _, _, ierr := h.inspectAnswer(x, st.jsonBuf); ierr != nil {
				x.e.log.Warn("answer inspection failed", "profile", x.profile.Name, "request_id", x.req.ID, "err", ierr)
			}
		}
		st.jsonBuf = nil
		if err == nil && u.known {
			st.usage, st.respModel, st.usageKnown = u, model, true
		} else {
			st.usageMissing = true
		}
		x.settleLimits()
		return Result{}, nil
	case st.sse != nil:
		return h.streamBody(x, chunk, end)
	}
	return Result{}, nil
}

// streamBody reads usage from a streamed response, and inspects its
// text. It changes the stream only to drop the usage chunk agentguard
// itself asked for, and to mask what the profile redacts.
func (h *llmHandler) streamBody(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.llm
	events, err := st.sse.Feed(chunk)
	if end && err == nil {
		if ev, ok := st.sse.End(); ok {
			events = append(events, ev)
		}
	}
	ri := st.resp
	if !st.addedUsage && (ri == nil || !ri.rewrite) {
		for _, ev := range events {
			st.stream.event(ev)
			if ri != nil {
				_, _ = h.pushEvent(x, ev, nil) // report only: failures are counted
			}
		}
		if err != nil {
			// Too large to parse: usage is unknown, the stream untouched.
			st.sse = nil
			st.usageMissing = true
			return Result{}, nil
		}
		if end {
			if ri != nil {
				_, _ = h.flushEvents(x, nil)
			}
			h.finishStream(x)
		}
		return Result{}, nil
	}
	out := make([]byte, 0, len(chunk))
	for _, ev := range events {
		if st.stream.event(ev) {
			continue // the usage-only chunk the client did not ask for
		}
		switch {
		case ri != nil && ri.rewrite:
			var perr error
			if out, perr = h.pushEvent(x, ev, out); perr != nil { // out gets what the redactor releases
				st.sse = nil
				var r Result
				r.replace(out)
				return r, perr
			}
		case ri != nil:
			_, _ = h.pushEvent(x, ev, nil) // report only
			out = append(out, ev.Raw...)
		default:
			out = append(out, ev.Raw...)
		}
	}
	if err != nil && ri != nil && ri.rewrite {
		// An event too large to read cannot be inspected: what is held
		// goes out inspected, the rest by the failure mode, never raw.
		out, _ = h.flushEvents(x, out)
		st.sse = nil
		st.usageMissing = true
		var r Result
		r.replace(out)
		return r, fmt.Errorf("streamed answer: %w", err)
	}
	if err != nil || end {
		if ri != nil {
			var ferr error
			if out, ferr = h.flushEvents(x, out); ferr != nil {
				var r Result
				r.replace(out)
				return r, ferr
			}
		}
		out = append(out, st.sse.Pending()...)
		if err != nil {
			st.sse = nil
			st.usageMissing = true
			var r Result
			r.replace(out)
			return r, nil
		}
		h.finishStream(x)
	}
	var r Result
	r.replace(out)
	return r, nil
}

func (h *llmHandler) finishStream(x *Exchange) {
	st := &x.llm
	u, model := st.stream.usage()
	if u.known {
		st.usage, st.respModel, st.usageKnown = u, model, true
		st.incomplete = !st.stream.done()
	} else {
		st.usageMissing = true
	}
	x.settleLimits() // at once: the agent's next request may follow it
}

// recordLLM fills the audit record and the token and cost counters.
func (x *Exchange) recordLLM(prices *pricing.Table) {
	st := &x.llm
	if x.profile == nil || x.profile.Protocol != "openai" && x.profile.Protocol != "anthropic" {
		return
	}
	rec := &telemetry.LLMRecord{Provider: x.profile.Protocol, Endpoint: st.endpoint, Workflow: st.workflow}
	x.rec.LLM = rec
	if st.req == nil {
		return
	}
	rec.Model, rec.Stream = st.req.model, st.req.stream
	if st.respModel != "" {
		rec.Model = st.respModel
	}
	if !x.forwarded() {
		return
	}
	if !st.usageKnown && st.stream != nil {
		// Cancelled or cut short: what the stream reported so far (input
		// tokens are known from its first event) is billed all the same.
		if u, model := st.stream.usage(); u.known {
			st.usage, st.respModel, st.usageKnown = u, model, true
			st.incomplete = true
		}
	}
	x.settleLimits() // a cut stream, a buffered answer, an upstream error
	rec.Incomplete = st.incomplete
	if !st.usageKnown {
		if st.endpoint == "count_tokens" {
			return // an estimate, not consumption: nothing is missing
		}
		if st.usageMissing || x.rec.Status >= 200 && x.rec.Status < 300 {
			rec.UsageMissing = true
			x.e.metrics.UsageMissing.WithLabelValues(x.profile.Protocol).Inc()
		}
		return
	}
	u := st.usage
	rec.InputTokens, rec.OutputTokens, rec.CachedTokens, rec.ReasoningTokens = u.input, u.output, u.cached, u.reasoning
	rec.CacheWriteTokens = u.cacheWrite
	price, priced, ok := prices.Lookup(rec.Model)
	if ok {
		rec.CostUSD = price.Cost(x.profile.handler.(*llmHandler).codec.billable(u))
		rec.PricedAs = priced
	}
	m := x.e.metrics
	agent, model, workflow := x.rec.Agent, modelLabel(priced, ok), x.e.workflowLabel(st.workflow)
	labels := []string{x.profile.Protocol, agent, model, workflow}
	m.Tokens.WithLabelValues(append(labels, "input")...).Add(float64(u.input))
	m.Tokens.WithLabelValues(append(labels, "output")...).Add(float64(u.output))
	m.Tokens.WithLabelValues(append(labels, "cached_input")...).Add(float64(u.cached))
	m.Tokens.WithLabelValues(append(labels, "reasoning")...).Add(float64(u.reasoning))
	if ok {
		m.CostUSD.WithLabelValues(labels...).Add(rec.CostUSD)
	}
	x.responseRules(rec)
}

// responseRules evaluates the profile's response rules now that the usage
// is known. The answer has reached the agent: a violation is recorded and
// counted, for alerts and for limits, not enforced.
func (x *Exchange) responseRules(rec *telemetry.LLMRecord) {
	set := x.profile.policy
	if !set.HasResponseRules() || x.llm.req == nil {
		return
	}
	in := x.input()
	in.LLM = x.llm.req.policyView(x.profile.Protocol, x.llm.endpoint)
	u := x.llm.usage
	in.LLM.Usage = policy.Usage{Input: u.input, Output: u.output, CachedInput: u.cached, Reasoning: u.reasoning, CostUSD: rec.CostUSD}
	ctx, cancel := context.WithTimeout(context.Background(), x.rt.timeout)
	defer cancel()
	d := set.DecideResponse(ctx, &in)
	if d.Allow {
		return
	}
	rec.ResponseRule = d.Rule
	x.e.metrics.RuleViolations.WithLabelValues(x.profile.Name, d.Rule).Inc()
	x.e.log.Warn("answer violated a response rule", "profile", x.profile.Name, "rule", d.Rule, "request_id", x.req.ID, "err", d.EvalErr)
}

// modelLabel bounds the model label to the price table's names.
func modelLabel(priced string, ok bool) string {
	if !ok {
		return "other"
	}
	return priced
}

// validWorkflow accepts a workflow id that can be a label value; others are
// "invalid". Engine.workflowLabel bounds how many distinct values there are.
func validWorkflow(v string) string {
	if v == "" {
		return ""
	}
	if len(v) > 64 {
		return "invalid"
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "invalid"
		}
	}
	return v
}

// CredentialWarnings lists LLM profiles whose provider credential cannot be
// read now (named by source, never by value), for the operator at start and
// on reload; such requests fail closed until it appears.
func (rt *Runtime) CredentialWarnings() []string {
	var out []string
	for _, p := range rt.profiles {
		var srcs map[string]credentials.Source
		switch h := p.handler.(type) {
		case *llmHandler:
			srcs = map[string]credentials.Source{"credential": h.cred}
			for name, s := range h.perAgent {
				srcs["agent_credentials."+name] = s
			}
		case *webhookHandler:
			srcs = map[string]credentials.Source{"webhook secret": h.secret}
		}
		for what, s := range srcs {
			if _, err := s.Credential(); err != nil {
				out = append(out, fmt.Sprintf("profile %s %s: %v", p.Name, what, err))
			}
		}
	}
	return out
}
