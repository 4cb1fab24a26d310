package anthropic

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

// responseDepth bounds the nesting of a response body; it only keeps
// gjson's validator recursion small.
const responseDepth = 512

// counts are Anthropic's usage fields as reported.
type counts struct {
	input, output, cacheRead, cacheWrite, thinking int64
	known                                          bool
}

// read updates c from a usage object; members that are absent keep their
// value, so a message_delta's cumulative usage can be applied on top of
// message_start's.
func (c *counts) read(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	u.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			// Nullable in the schema: a null says nothing new, and must not
			// wipe what message_start reported.
			return true
		}
		switch k.Str {
		case "input_tokens":
			c.input = count(v)
			c.known = c.known || v.Type == gjson.Number
		case "output_tokens":
			c.output = count(v)
			c.known = c.known || v.Type == gjson.Number
		case "cache_read_input_tokens":
			c.cacheRead = count(v)
		case "cache_creation_input_tokens":
			c.cacheWrite = count(v)
		case "output_tokens_details":
			if t := v.Get("thinking_tokens"); t.Exists() {
				c.thinking = count(t)
			}
		}
		return true
	})
}

func (c counts) usage() Usage {
	if !c.known {
		return Usage{}
	}
	return Usage{
		Input:       c.input + c.cacheRead + c.cacheWrite,
		Output:      c.output,
		CachedInput: c.cacheRead,
		CacheWrite:  c.cacheWrite,
		Reasoning:   c.thinking,
		Known:       true,
	}
}

// UsageFromJSON reads the usage and the model the provider says it used from
// a non-streamed Messages response body. A body without usage (an error
// body, say) gives Known false and no error; a body that is not a JSON object
// gives an error. A CountTokens response is an estimate, not consumption: it
// gives Known false.
func UsageFromJSON(ep Endpoint, body []byte) (Usage, string, error) {
	if !depthWithin(body, responseDepth) || !gjson.ValidBytes(body) {
		return Usage{}, "", Malformed("response is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Usage{}, "", Malformed("response is not a JSON object")
	}
	if ep == CountTokens {
		return Usage{}, "", nil
	}
	var c counts
	c.read(root.Get("usage"))
	return c.usage(), root.Get("model").String(), nil
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
