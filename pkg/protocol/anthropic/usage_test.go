package anthropic

import (
	"bytes"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/sse"
)

func TestUsageFromJSON(t *testing.T) {
	tests := []struct {
		name  string
		ep    Endpoint
		body  []byte
		want  Usage
		model string
	}{
		{"tool_result", Messages, readTestdata(t, "responses/tool_result.json"), Usage{Input: 514, Output: 19, Known: true}, "claude-3-7-sonnet-20250219"},
		{"mcp_servers", Messages, readTestdata(t, "responses/mcp_servers.json"), Usage{Input: 5262, Output: 369, Known: true}, "claude-sonnet-4-20250514"},
		{"parallel_tool_calls", Messages, readTestdata(t, "responses/parallel_tool_calls.json"), Usage{Input: 771, Output: 77, Known: true}, "claude-haiku-4-5-20251001"},
		{"thinking", Messages, readTestdata(t, "responses/thinking.json"), Usage{Input: 566, Output: 126, Known: true}, "claude-sonnet-4-20250514"},
		{"count_tokens is not consumption", CountTokens, readTestdata(t, "responses/count_tokens.json"), Usage{}, ""},
		{"cache read and write", Messages, []byte(`{"model":"claude-opus-4-1","usage":{"input_tokens":10,"cache_read_input_tokens":2000,"cache_creation_input_tokens":300,"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}}`),
			Usage{Input: 2310, Output: 50, CachedInput: 2000, CacheWrite: 300, Reasoning: 20, Known: true}, "claude-opus-4-1"},
		{"error body", Messages, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), Usage{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, model, err := UsageFromJSON(tt.ep, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.want || model != tt.model {
				t.Fatalf("got %+v %q, want %+v %q", u, model, tt.want, tt.model)
			}
		})
	}
	for _, bad := range []string{"", "nope", `"str"`, `{"usage":{`, strings.Repeat("{\"a\":", 10000)} {
		if _, _, err := UsageFromJSON(Messages, []byte(bad)); err == nil {
			t.Errorf("UsageFromJSON(%.20q) succeeded", bad)
		}
	}
}

var streamTests = []struct {
	file  string
	want  Usage
	model string
	done  bool
}{
	{"streaming_tool_use", Usage{Input: 397, Output: 89, Known: true}, "claude-3-7-sonnet-20250219", true},
	// message_delta raises input_tokens after the server-side web fetch.
	{"web_fetch_stream", Usage{Input: 7244, Output: 153, Known: true}, "claude-sonnet-4-20250514", true},
	{"refusal", Usage{Input: 28, Output: 106, Reasoning: 67, Known: true}, "primary-model", true},
	// The Python SDK fixtures end without the blank line after message_stop,
	// so that event never completes.
	{"python_basic", Usage{Input: 11, Output: 6, Known: true}, "claude-3-opus-latest", false},
	{"python_tool_use", Usage{Input: 377, Output: 65, Known: true}, "claude-sonnet-4-20250514", false},
}

func TestStreamUsage(t *testing.T) {
	for _, tt := range streamTests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, "streams/"+tt.file+".sse")
			su := feedStream(t, Messages, body)
			u, model := su.Usage()
			if u != tt.want || model != tt.model || su.Done() != tt.done {
				t.Fatalf("got %+v %q done=%v, want %+v %q done=%v", u, model, su.Done(), tt.want, tt.model, tt.done)
			}
			if !tt.done {
				su := feedStream(t, Messages, append(bytes.Clone(body), "\n\n"...))
				if !su.Done() {
					t.Fatal("not done with the stream completed")
				}
			}
		})
	}
}

func TestStreamUsageEverySplit(t *testing.T) {
	for _, tt := range streamTests[:2] {
		body := readTestdata(t, "streams/"+tt.file+".sse")
		crlf := bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
		for _, b := range [][]byte{body, crlf} {
			for i := 0; i <= len(b); i++ {
				su := feedStream(t, Messages, b, i)
				if u, _ := su.Usage(); u != tt.want || !su.Done() {
					t.Fatalf("%s split at %d: %+v done=%v", tt.file, i, u, su.Done())
				}
			}
			cuts := make([]int, 0, len(b))
			for i := 1; i < len(b); i++ {
				cuts = append(cuts, i)
			}
			if u, _ := feedStream(t, Messages, b, cuts...).Usage(); u != tt.want {
				t.Fatalf("%s byte by byte: %+v", tt.file, u)
			}
		}
	}
}

func TestStreamUsageEdges(t *testing.T) {
	ev := func(name, data string) sse.Event { return sse.Event{Name: name, Data: []byte(data)} }
	t.Run("cut after message_start", func(t *testing.T) {
		su := NewStreamUsage(Messages)
		su.Event(ev("message_start", `{"type":"message_start","message":{"model":"claude","usage":{"input_tokens":5,"cache_read_input_tokens":100,"output_tokens":1}}}`))
		if u, m := su.Usage(); u != (Usage{Input: 105, Output: 1, CachedInput: 100, Known: true}) || m != "claude" || su.Done() {
			t.Fatalf("%+v %q %v", u, m, su.Done())
		}
	})
	t.Run("error event ends the stream", func(t *testing.T) {
		su := NewStreamUsage(Messages)
		su.Event(ev("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
		if u, _ := su.Usage(); u.Known || !su.Done() {
			t.Fatalf("%+v %v", u, su.Done())
		}
	})
	t.Run("unnamed events use the data type", func(t *testing.T) {
		su := NewStreamUsage(Messages)
		su.Event(ev("", `{"type":"message_delta","usage":{"output_tokens":9}}`))
		su.Event(ev("", `{"type":"message_stop"}`))
		if u, _ := su.Usage(); u != (Usage{Output: 9, Known: true}) || !su.Done() {
			t.Fatalf("%+v %v", u, su.Done())
		}
	})
	t.Run("junk is ignored", func(t *testing.T) {
		su := NewStreamUsage(Messages)
		for _, d := range []string{"", "[DONE]", "{", `{"type":"message_delta","usage":[1]}`, strings.Repeat("[", 100000), `{"type":"message_start","message":"x"}`} {
			su.Event(ev("", d))
		}
		if u, _ := su.Usage(); u.Known {
			t.Fatalf("%+v", u)
		}
	})
}
