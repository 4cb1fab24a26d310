package engine

import (
	"bytes"
	"strings"
)

// AuthzBody says what an ext_authz Check carried of the request body.
type AuthzBody int

const (
	// AuthzBodyNone: the request has no body.
	AuthzBodyNone AuthzBody = iota
	// AuthzBodyWhole: the body passed to Authorize is the whole body.
	AuthzBodyWhole
	// AuthzBodyPartial: Envoy cut the body at its max_request_bytes
	// (allow_partial_message).
	AuthzBodyPartial
	// AuthzBodyNotSent: the request has a body Envoy did not send (its
	// ext_authz filter lacks with_request_body).
	AuthzBodyNotSent
)

// Authorize decides a whole request in one call, the way Envoy's ext_authz
// asks: the request headers, then the body when there is one, through the
// same RequestHeaders and RequestBody an ext_proc stream drives. There is
// no response phase; the caller must Finish the exchange after it, and an
// allowed LLM request is recorded with its usage missing.
//
// The Result is either a Reply or the request's mutations as one set: the
// header and body messages' mutations folded in the order ext_proc applies
// them, so no name is both set and removed (ext_authz applies all sets
// before all removals). ClearRouteCache is left to Envoy's
// clear_route_cache, and body modes mean nothing here.
//
// What ext_authz cannot carry is refused here, in the client's protocol:
// a cut body (profile ext_authz.partial_body "deny"), a body the profile
// must read but Envoy did not send, and a rewrite of the request body —
// except the stream-usage request, which exists only for response-phase
// accounting and is dropped.
func (x *Exchange) Authorize(h Header, body []byte, kind AuthzBody) Result {
	x.meta.RequestBodyMode = BodyBuffered
	r := x.RequestHeaders(h, kind == AuthzBodyNone)
	if r.Reply != nil || x.profile == nil {
		return r
	}
	if _, ok := x.profile.handler.(*llmHandler); ok {
		// No answer will be read: the record says usage is missing, not 0.
		x.llm.usageMissing = true
	}
	awaitsBody := x.phase == phaseAwaitBody
	switch kind {
	case AuthzBodyNone:
		return foldMutations(r)
	case AuthzBodyPartial:
		if !awaitsBody && x.profile.cfg.ExtAuthz.PartialBody == "headers" {
			return foldMutations(r) // decided on the headers, as configured
		}
		return x.deny(denial{status: 413, kind: denyTooLarge, rule: "builtin:body-too-large",
			message: "request body exceeds Envoy's buffer limit"})
	case AuthzBodyNotSent:
		if !awaitsBody {
			return foldMutations(r) // the profile decides without the body
		}
		return x.authzRefuse("builtin:body-not-sent",
			"agentguard needs the request body to decide: the Envoy ext_authz filter must send it (with_request_body)",
			"Envoy sent no request body on a profile that reads it; set with_request_body on the ext_authz filter")
	}
	if !awaitsBody {
		return foldMutations(r) // decided at the headers; the body is not read
	}
	b := x.RequestBody(body, true)
	if b.Reply != nil {
		return b
	}
	if b.BodySet {
		if !x.onlyUsageAdded(body, b.Body) {
			return x.authzRefuse("builtin:body-rewrite",
				"agentguard cannot rewrite this request through ext_authz",
				"the decision rewrites the request body (a redaction), which ext_authz cannot carry; use ext_proc for this profile")
		}
		// include_usage was added so usage could be read from the answer,
		// which ext_authz never sees: the client's body goes as it came.
		b.Body, b.BodySet = nil, false
		b.SetHeaders = dropHeader(b.SetHeaders, "content-length")
	}
	return foldMutations(r, b)
}

// onlyUsageAdded reports whether out is exactly the client's body with
// stream usage requested, and nothing else changed (no redaction).
func (x *Exchange) onlyUsageAdded(in, out []byte) bool {
	h, ok := x.profile.handler.(*llmHandler)
	if !ok {
		return false
	}
	nb, added, err := h.codec.ensureUsage(in)
	return err == nil && added && bytes.Equal(nb, out)
}

// authzRefuse denies closed, whatever the failure mode: a limit of the
// deployment holds for every request of the profile, so failing open would
// switch its governance off. It is logged and counted as a failure.
func (x *Exchange) authzRefuse(rule, message, logMsg string) Result {
	x.e.metrics.Failures.WithLabelValues(x.profile.Name, "closed").Inc()
	x.e.log.Error("ext_authz cannot decide this request", "profile", x.profile.Name, "request_id", x.req.ID, "reason", logMsg)
	return x.deny(denial{status: 500, kind: denyUnavailable, rule: rule, message: message})
}

// foldMutations merges the mutations of consecutive ext_proc answers into
// one Result with the same effect: each answer removes, then sets; a later
// answer overrides an earlier one.
func foldMutations(rs ...Result) Result {
	type op struct {
		remove bool
		value  string
	}
	var order []string
	last := map[string]op{}
	put := func(name string, o op) {
		name = strings.ToLower(name)
		if _, ok := last[name]; !ok {
			order = append(order, name)
		}
		last[name] = o
	}
	for i := range rs {
		for _, n := range rs[i].RemoveHeaders {
			put(n, op{remove: true})
		}
		for _, hv := range rs[i].SetHeaders {
			put(hv.Name, op{value: hv.Value})
		}
	}
	var out Result
	for _, n := range order {
		if o := last[n]; o.remove {
			out.RemoveHeaders = append(out.RemoveHeaders, n)
		} else {
			out.SetHeaders = append(out.SetHeaders, HeaderValue{Name: n, Value: o.value})
		}
	}
	return out
}

func dropHeader(hs []HeaderValue, name string) []HeaderValue {
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}
