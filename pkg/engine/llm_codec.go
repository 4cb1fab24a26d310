package engine

import (
	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/credentials"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/pricing"
	"github.com/agentguard/agentguard/pkg/protocol/anthropic"
	"github.com/agentguard/agentguard/pkg/protocol/openai"
	"github.com/agentguard/agentguard/pkg/sse"
)

// llmCodec adapts one provider's codec package to the engine: the codecs
// know nothing of each other or of policy, and the engine handles both
// through this one shape.
type llmCodec interface {
	provider() string
	scheme() credentials.Scheme
	endpoint(method, path string) (llmEndpoint, bool)
	parse(ep llmEndpoint, body []byte) (*llmRequest, error)
	ensureUsage(body []byte) ([]byte, bool, error)
	usageFromJSON(req *llmRequest, body []byte) (llmUsage, string, error)
	newStream(req *llmRequest) llmStream
	errorBody(d denial) []byte
	// billable splits usage the way the provider bills it.
	billable(u llmUsage) pricing.Usage
}

type llmEndpoint struct {
	name string
	id   int // the codec's own Endpoint value
}

// llmRequest is what the engine needs of a parsed request.
type llmRequest struct {
	ep           llmEndpoint
	model        string
	stream       bool
	includeUsage bool
	maxTokens    int64
	messages     []map[string]any
	tools        []string
	toolCalls    []map[string]any
	// texts are every string of the request that reaches the model, with
	// its path in the body, for the detectors.
	texts []inspect.Text
}

func (r *llmRequest) policyView(provider, endpoint string) *policy.LLM {
	return &policy.LLM{
		Provider: provider, Endpoint: endpoint, Model: r.model, Stream: r.stream,
		MaxTokens: r.maxTokens, Messages: r.messages, Tools: r.tools, ToolCalls: r.toolCalls,
	}
}

type llmUsage struct {
	input, output, cached, cacheWrite, reasoning int64
	known                                        bool
}

// llmStream reads usage from a response stream, event by event.
type llmStream interface {
	// event consumes one event and reports whether it is the usage-only
	// chunk agentguard asked for on the client's behalf (dropped then).
	event(ev sse.Event) bool
	usage() (llmUsage, string)
	// done reports whether the stream's terminal event was seen.
	done() bool
}

// codecError is a malformed request, with the status to answer.
type codecError struct {
	status  int
	message string
}

func (e *codecError) Error() string { return e.message }

func messagesView(n int, at func(i int) (role, text string)) []map[string]any {
	out := make([]map[string]any, n)
	for i := range n {
		role, text := at(i)
		out[i] = map[string]any{"role": role, "text": text}
	}
	return out
}

// --- OpenAI

type openaiCodec struct{}

func (openaiCodec) provider() string           { return "openai" }
func (openaiCodec) scheme() credentials.Scheme { return credentials.Bearer }

func (openaiCodec) endpoint(method, path string) (llmEndpoint, bool) {
	ep, ok := openai.EndpointFor(method, path)
	if !ok {
		return llmEndpoint{}, false
	}
	return llmEndpoint{name: ep.String(), id: int(ep)}, true
}

func (openaiCodec) parse(ep llmEndpoint, body []byte) (*llmRequest, error) {
	r, err := openai.ParseRequest(openai.Endpoint(ep.id), body, openai.Limits{})
	if err != nil {
		if e, ok := err.(*openai.Error); ok {
			return nil, &codecError{status: e.Status, message: e.Message}
		}
		return nil, err
	}
	out := &llmRequest{ep: ep, model: r.Model, stream: r.Stream, includeUsage: r.IncludeUsage,
		maxTokens: r.MaxTokens, tools: r.Tools}
	out.messages = messagesView(len(r.Messages), func(i int) (string, string) { return r.Messages[i].Role, r.Messages[i].Text })
	for _, c := range r.ToolCalls {
		out.toolCalls = append(out.toolCalls, map[string]any{"id": c.ID, "name": c.Name, "arguments": c.Arguments})
	}
	out.texts = make([]inspect.Text, len(r.Texts))
	for i, t := range r.Texts {
		out.texts[i] = inspect.Text{Field: t.Path, Value: t.Value}
	}
	if ep.id != int(openai.ChatCompletions) && ep.id != int(openai.Completions) {
		out.includeUsage = true // only (chat) completions leave usage out of streams
	}
	return out, nil
}

func (openaiCodec) ensureUsage(body []byte) ([]byte, bool, error) {
	return openai.EnsureIncludeUsage(body)
}

func (openaiCodec) usageFromJSON(req *llmRequest, body []byte) (llmUsage, string, error) {
	u, model, err := openai.UsageFromJSON(openai.Endpoint(req.ep.id), body)
	return openaiUsage(u), model, err
}

func openaiUsage(u openai.Usage) llmUsage {
	return llmUsage{input: u.Input, output: u.Output, cached: u.CachedInput, cacheWrite: u.CacheWrite, reasoning: u.Reasoning, known: u.Known}
}

// billable: the codec's Input counts every input token, cached included.
func (openaiCodec) billable(u llmUsage) pricing.Usage {
	return pricing.Usage{Input: max(u.input-u.cached-u.cacheWrite, 0), CachedInput: u.cached, CacheWrite: u.cacheWrite, Output: u.output}
}

type openaiStream struct{ s *openai.StreamUsage }

func (openaiCodec) newStream(req *llmRequest) llmStream {
	return openaiStream{s: openai.NewStreamUsage(openai.Endpoint(req.ep.id))}
}

func (o openaiStream) event(ev sse.Event) bool {
	o.s.Event(ev)
	// With include_usage, the last chunk before [DONE] carries the usage
	// and an empty choices array.
	if len(ev.Data) == 0 || ev.Data[0] != '{' {
		return false
	}
	c := gjson.GetBytes(ev.Data, "choices")
	return c.IsArray() && len(c.Array()) == 0 && gjson.GetBytes(ev.Data, "usage").IsObject()
}

func (o openaiStream) done() bool { return o.s.Done() }

func (o openaiStream) usage() (llmUsage, string) {
	u, m := o.s.Usage()
	return openaiUsage(u), m
}

func (openaiCodec) errorBody(d denial) []byte {
	return openai.ErrorBody(openaiError(d))
}

func openaiError(d denial) *openai.Error {
	switch d.kind {
	case denyMalformed:
		return openai.Malformed(d.message)
	case denyTooLarge:
		return openai.TooLarge(d.message)
	case denyUnauthenticated:
		return openai.Unauthenticated(d.message)
	case denyUnavailable:
		return openai.Unavailable(d.message)
	case denyRateLimited:
		// OpenAI's own 429 says which limit in error.type: requests or
		// tokens; a spent budget is insufficient_quota.
		e := openai.RateLimited(d.message)
		switch {
		case d.limit == nil:
		case d.limit.unit == config.UnitRequests:
			e.Type = "requests"
		case d.limit.unit == config.UnitCostUSD:
			e.Type, e.Code = "insufficient_quota", "insufficient_quota"
		default:
			e.Type = "tokens"
		}
		return e
	}
	if d.status == 404 {
		e := openai.Forbidden(d.message)
		e.Status, e.Type, e.Code = 404, "invalid_request_error", "unknown_url"
		return e
	}
	return openai.Forbidden(d.message)
}

// --- Anthropic

type anthropicCodec struct{}

func (anthropicCodec) provider() string           { return "anthropic" }
func (anthropicCodec) scheme() credentials.Scheme { return credentials.APIKey }

func (anthropicCodec) endpoint(method, path string) (llmEndpoint, bool) {
	ep, ok := anthropic.EndpointFor(method, path)
	if !ok {
		return llmEndpoint{}, false
	}
	return llmEndpoint{name: ep.String(), id: int(ep)}, true
}

func (anthropicCodec) parse(ep llmEndpoint, body []byte) (*llmRequest, error) {
	r, err := anthropic.ParseRequest(anthropic.Endpoint(ep.id), body, anthropic.Limits{})
	if err != nil {
		if e, ok := err.(*anthropic.Error); ok {
			return nil, &codecError{status: e.Status, message: e.Message}
		}
		return nil, err
	}
	out := &llmRequest{ep: ep, model: r.Model, stream: r.Stream, includeUsage: true,
		maxTokens: r.MaxTokens, tools: r.Tools}
	out.messages = messagesView(len(r.Messages), func(i int) (string, string) { return r.Messages[i].Role, r.Messages[i].Text })
	for _, c := range r.ToolCalls {
		out.toolCalls = append(out.toolCalls, map[string]any{"id": c.ID, "name": c.Name, "arguments": c.Arguments})
	}
	out.texts = make([]inspect.Text, len(r.Texts))
	for i, t := range r.Texts {
		out.texts[i] = inspect.Text{Field: t.Path, Value: t.Value}
	}
	return out, nil
}

func (anthropicCodec) ensureUsage(body []byte) ([]byte, bool, error) { return body, false, nil }

func (anthropicCodec) usageFromJSON(req *llmRequest, body []byte) (llmUsage, string, error) {
	u, model, err := anthropic.UsageFromJSON(anthropic.Endpoint(req.ep.id), body)
	return anthropicUsage(u), model, err
}

func anthropicUsage(u anthropic.Usage) llmUsage {
	return llmUsage{input: u.Input, output: u.Output, cached: u.CachedInput, cacheWrite: u.CacheWrite, reasoning: u.Reasoning, known: u.Known}
}

// billable: the codec's Input counts every input token, cache reads and
// writes included; each is billed at its own rate.
func (anthropicCodec) billable(u llmUsage) pricing.Usage {
	return pricing.Usage{Input: max(u.input-u.cached-u.cacheWrite, 0), CachedInput: u.cached, CacheWrite: u.cacheWrite, Output: u.output}
}

type anthropicStream struct{ s *anthropic.StreamUsage }

func (anthropicCodec) newStream(req *llmRequest) llmStream {
	return anthropicStream{s: anthropic.NewStreamUsage(anthropic.Endpoint(req.ep.id))}
}

func (a anthropicStream) event(ev sse.Event) bool {
	a.s.Event(ev)
	return false
}

func (a anthropicStream) done() bool { return a.s.Done() }

func (a anthropicStream) usage() (llmUsage, string) {
	u, m := a.s.Usage()
	return anthropicUsage(u), m
}

func (anthropicCodec) errorBody(d denial) []byte {
	switch d.kind {
	case denyMalformed:
		return anthropic.ErrorBody(anthropic.Malformed(d.message))
	case denyTooLarge:
		return anthropic.ErrorBody(anthropic.TooLarge(d.message))
	case denyUnauthenticated:
		return anthropic.ErrorBody(anthropic.Unauthenticated(d.message))
	case denyUnavailable:
		return anthropic.ErrorBody(anthropic.Unavailable(d.message))
	case denyRateLimited:
		return anthropic.ErrorBody(anthropic.RateLimited(d.message))
	}
	e := anthropic.Forbidden(d.message)
	if d.status == 404 {
		e.Status, e.Type = 404, "not_found_error"
	}
	return anthropic.ErrorBody(e)
}
