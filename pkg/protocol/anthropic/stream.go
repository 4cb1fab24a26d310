package anthropic

import (
	"bytes"

	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/tidwall/gjson"
)

// StreamUsage accumulates usage from a streamed (SSE) Messages response, one
// complete event at a time, as an sse.Scanner returns them: message_start's
// message.usage (input and cache counts, and the model), then each
// message_delta's usage, which is cumulative and may repeat or update any
// count. message_stop, or an "error" event, ends the stream. It holds no
// event bytes, so its memory stays constant as the stream grows. Not safe for
// concurrent use: one per stream.
//
// A stream cut after message_start reports the input counts it carried
// (Known true, Done false): the caller records it as incomplete.
type StreamUsage struct {
	c     counts
	model string
	done  bool
}

// NewStreamUsage returns a StreamUsage for a response to ep.
func NewStreamUsage(ep Endpoint) *StreamUsage { return &StreamUsage{} }

// Event reads one event. Events without data, with data that is not JSON,
// or of types that carry no usage are ignored. The type is the event's name,
// or the data's "type" when the event has no name.
func (s *StreamUsage) Event(ev sse.Event) {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || data[0] != '{' || !depthWithin(data, responseDepth) {
		return
	}
	typ := ev.Name
	if typ == "" || typ == "message" {
		typ = gjson.GetBytes(data, "type").String()
	}
	switch typ {
	case "message_start":
		msg := gjson.GetBytes(data, "message")
		if m := msg.Get("model"); m.Type == gjson.String {
			s.model = m.Str
		}
		s.c.read(msg.Get("usage"))
	case "message_delta":
		s.c.read(gjson.GetBytes(data, "usage"))
	case "message_stop", "error":
		s.done = true
	}
}

// Usage returns the usage seen so far and the model; Known is false when
// the stream carried no usage. The caller records that as such.
func (s *StreamUsage) Usage() (Usage, string) { return s.c.usage(), s.model }

// Done reports whether the stream's terminal event was seen.
func (s *StreamUsage) Done() bool { return s.done }
