package openai

import (
	"bytes"

	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/tidwall/gjson"
)

// StreamUsage accumulates usage from a streamed (SSE) response, one complete
// event at a time, as an sse.Scanner returns them. It holds no event bytes,
// so its memory stays constant as the stream grows. Not safe for concurrent
// use: one per stream.
//
//   - Chat Completions and Completions: the chunk whose "usage" is an object
//     (the last one, with "choices": [], when stream_options.include_usage
//     was set); "data: [DONE]" ends the stream.
//   - Responses: response.completed, response.incomplete and
//     response.failed carry response.usage and end the stream; so does an
//     "error" event.
//
// The model is read from the first event that names one.
type StreamUsage struct {
	ep    Endpoint
	usage Usage
	model string
	done  bool
}

// NewStreamUsage returns a StreamUsage for a response to ep.
func NewStreamUsage(ep Endpoint) *StreamUsage { return &StreamUsage{ep: ep} }

// Event reads one event. Events without data, with data that is not JSON,
// or of types that carry no usage are ignored.
func (s *StreamUsage) Event(ev sse.Event) {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return
	}
	if string(data) == "[DONE]" {
		s.done = true
		return
	}
	if data[0] != '{' || !depthWithin(data, responseDepth) {
		return
	}
	if s.ep == Responses {
		s.responsesEvent(ev.Name, data)
		return
	}
	// Chat Completions / Completions chunk.
	if s.model == "" {
		if m := gjson.GetBytes(data, "model"); m.Type == gjson.String {
			s.model = m.Str
		}
	}
	if u := usageOf(s.ep, gjson.GetBytes(data, "usage")); u.Known {
		s.usage = u
	}
	if gjson.GetBytes(data, "error").IsObject() {
		s.done = true
	}
}

func (s *StreamUsage) responsesEvent(name string, data []byte) {
	typ := name
	if typ == "" || typ == "message" {
		typ = gjson.GetBytes(data, "type").String()
	}
	switch typ {
	case "response.created", "response.in_progress":
		if s.model == "" {
			s.model = gjson.GetBytes(data, "response.model").String()
		}
	case "response.completed", "response.incomplete", "response.failed":
		resp := gjson.GetBytes(data, "response")
		if m := resp.Get("model"); m.Type == gjson.String {
			s.model = m.Str
		}
		if u := usageOf(s.ep, resp.Get("usage")); u.Known {
			s.usage = u
		}
		s.done = true
	case "error":
		s.done = true
	}
}

// Usage returns the usage seen so far and the model; Known is false when
// the stream carried no usage. The caller records that as such.
func (s *StreamUsage) Usage() (Usage, string) { return s.usage, s.model }

// Done reports whether the stream's terminal event was seen.
func (s *StreamUsage) Done() bool { return s.done }
