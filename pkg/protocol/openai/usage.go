package openai

import (
	"github.com/tidwall/gjson"
)

// Usage is the token usage of one exchange, normalised across providers:
// Input counts every input token (CachedInput and CacheWrite are parts of
// it), Output every output token (Reasoning is a part of it). Known is false
// when the response carried no usage; the numbers are then zero.
type Usage struct {
	Input, Output, CachedInput, CacheWrite, Reasoning int64
	Known                                             bool
}

// responseDepth bounds the nesting of a response body. Responses are from
// the provider, and Responses API bodies echo tool schemas, so the bound is
// looser than a request's; it only keeps gjson's validator recursion small.
const responseDepth = 512

// UsageFromJSON reads the usage and the model the provider says it used from
// a non-streamed response body. A body without usage (an error body, say)
// gives Known false and no error; a body that is not a JSON object gives an
// error.
func UsageFromJSON(ep Endpoint, body []byte) (Usage, string, error) {
	if !depthWithin(body, responseDepth) || !gjson.ValidBytes(body) {
		return Usage{}, "", Malformed("response is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Usage{}, "", Malformed("response is not a JSON object")
	}
	model := root.Get("model")
	return usageOf(ep, root.Get("usage")), model.String(), nil
}

// usageOf reads a usage object: Chat Completions, Completions and
// Embeddings name the fields prompt_tokens / completion_tokens, Responses
// input_tokens / output_tokens. Both spellings are accepted for every
// endpoint; Known needs at least the input count.
func usageOf(_ Endpoint, u gjson.Result) Usage {
	if !u.IsObject() {
		return Usage{}
	}
	var out Usage
	in := u.Get("prompt_tokens")
	if !in.Exists() {
		in = u.Get("input_tokens")
	}
	if in.Type != gjson.Number {
		return Usage{}
	}
	out.Known = true
	out.Input = count(in)
	if o := u.Get("completion_tokens"); o.Exists() {
		out.Output = count(o)
	} else {
		out.Output = count(u.Get("output_tokens"))
	}
	in, outd := u.Get("prompt_tokens_details"), u.Get("completion_tokens_details")
	if !in.Exists() {
		in = u.Get("input_tokens_details")
	}
	if !outd.Exists() {
		outd = u.Get("output_tokens_details")
	}
	if in.IsObject() {
		out.CachedInput = count(in.Get("cached_tokens"))
		out.CacheWrite = count(in.Get("cache_write_tokens"))
	}
	if outd.IsObject() {
		out.Reasoning = count(outd.Get("reasoning_tokens"))
	}
	return out
}

// count reads a token count; anything but a non-negative integer counts 0.
func count(v gjson.Result) int64 {
	if v.Type != gjson.Number {
		return 0
	}
	n := v.Int()
	if n < 0 {
		return 0
	}
	return n
}
