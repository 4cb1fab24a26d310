package openai

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
		{"chat_basic", ChatCompletions, readTestdata(t, "responses/chat_basic.json"), Usage{Input: 8, Output: 377, Reasoning: 320, Known: true}, "gpt-5-nano-2025-08-07"},
		{"chat_multimodal", ChatCompletions, readTestdata(t, "responses/chat_multimodal.json"), Usage{Input: 2245, Output: 100, Reasoning: 100, Known: true}, "gpt-5-nano-2025-08-07"},
		{"chat_tool_output", ChatCompletions, readTestdata(t, "responses/chat_tool_output.json"), Usage{Input: 89, Output: 36, Known: true}, "gpt-4o-2024-08-06"},
		{"completion_text_batch", Completions, readTestdata(t, "responses/completion_text_batch.json"), Usage{Input: 49, Output: 58, Known: true}, "babbage:2023-07-21-v2"},
		{"responses_reasoning", Responses, readTestdata(t, "responses/responses_reasoning.json"), Usage{Input: 88, Output: 547, Reasoning: 128, Known: true}, "o3-mini-2025-01-31"},
		{"responses_tool_call", Responses, readTestdata(t, "responses/responses_tool_call.json"), Usage{Input: 67, Output: 11, Known: true}, "gpt-4o-2024-08-06"},
		{"error body", ChatCompletions, readTestdata(t, "responses/chat_bad_request.json"), Usage{}, ""},
		{"responses error body", Responses, readTestdata(t, "responses/responses_http_error.json"), Usage{}, ""},
		{"embeddings", Embeddings, []byte(`{"object":"list","data":[],"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}`),
			Usage{Input: 5, Known: true}, "text-embedding-3-small"},
		{"cached", ChatCompletions, []byte(`{"model":"gpt-4o","usage":{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1920}}}`),
			Usage{Input: 2006, Output: 300, CachedInput: 1920, Known: true}, "gpt-4o"},
		{"usage null", ChatCompletions, []byte(`{"model":"m","usage":null}`), Usage{}, "m"},
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
	for _, bad := range []string{"", "not json", `[1]`, `{"usage":`, strings.Repeat("[", 10000)} {
		if _, _, err := UsageFromJSON(ChatCompletions, []byte(bad)); err == nil {
			t.Errorf("UsageFromJSON(%.20q) succeeded", bad)
		}
	}
}

var streamTests = []struct {
	file  string
	ep    Endpoint
	want  Usage
	model string
	done  bool
}{
	{"chat_streaming_usage", ChatCompletions, Usage{Input: 12, Output: 100, Reasoning: 100, Known: true}, "gpt-5-nano-2025-08-07", true},
	{"chat_moderation_stream", ChatCompletions, Usage{Input: 13, Output: 11, Known: true}, "gpt-5-2025-08-07", true},
	{"chat_streaming_no_usage", ChatCompletions, Usage{}, "gpt-5-nano-2025-08-07", true},
	{"completion_streaming_usage", Completions, Usage{Input: 31, Output: 25, Known: true}, "babbage:2023-07-21-v2", true},
	{"responses_streaming_usage", Responses, Usage{Input: 53, Output: 469, Reasoning: 448, Known: true}, "gpt-5-2025-08-07", true},
	{"responses_web_search_stream", Responses, Usage{Input: 9463, Output: 582, CachedInput: 8320, Reasoning: 512, Known: true}, "gpt-5-2025-08-07", true},
	{"responses_moderation_stream", Responses, Usage{Input: 13, Output: 59, Known: true}, "gpt-5-2025-08-07", true},
	{"responses_stream_followup", Responses, Usage{Input: 278, Output: 9, Known: true}, "gpt-4o-2024-08-06", true},
}

func TestStreamUsage(t *testing.T) {
	for _, tt := range streamTests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, "streams/"+tt.file+".sse")
			su := feedStream(t, tt.ep, body)
			u, model := su.Usage()
			if u != tt.want || model != tt.model || su.Done() != tt.done {
				t.Fatalf("got %+v %q done=%v, want %+v %q done=%v", u, model, su.Done(), tt.want, tt.model, tt.done)
			}
		})
	}
}

// TestStreamUsageEverySplit feeds streams cut in two at every byte offset,
// and in one-byte chunks, with CRLF line ends too.
func TestStreamUsageEverySplit(t *testing.T) {
	for _, tt := range streamTests {
		if tt.file != "chat_streaming_usage" && tt.file != "responses_streaming_usage" && tt.file != "completion_streaming_usage" {
			continue
		}
		body := readTestdata(t, "streams/"+tt.file+".sse")
		crlf := bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
		for _, b := range [][]byte{body, crlf} {
			for i := 0; i <= len(b); i++ {
				su := feedStream(t, tt.ep, b, i)
				if u, _ := su.Usage(); u != tt.want || !su.Done() {
					t.Fatalf("%s split at %d: %+v done=%v", tt.file, i, u, su.Done())
				}
			}
			cuts := make([]int, 0, len(b))
			for i := 1; i < len(b); i++ {
				cuts = append(cuts, i)
			}
			if u, _ := feedStream(t, tt.ep, b, cuts...).Usage(); u != tt.want {
				t.Fatalf("%s byte by byte: %+v", tt.file, u)
			}
		}
	}
}

func TestStreamUsageEdges(t *testing.T) {
	ev := func(name, data string) sse.Event { return sse.Event{Name: name, Data: []byte(data)} }
	t.Run("truncated before usage", func(t *testing.T) {
		su := NewStreamUsage(ChatCompletions)
		su.Event(ev("", `{"model":"gpt-4o","choices":[{"delta":{"content":"hi"}}],"usage":null}`))
		if u, m := su.Usage(); u.Known || m != "gpt-4o" || su.Done() {
			t.Fatalf("%+v %q %v", u, m, su.Done())
		}
	})
	t.Run("error chunk ends chat stream", func(t *testing.T) {
		su := NewStreamUsage(ChatCompletions)
		su.Event(ev("", `{"error":{"message":"boom","type":"server_error"}}`))
		if !su.Done() {
			t.Fatal("not done")
		}
	})
	t.Run("responses failed and incomplete carry usage", func(t *testing.T) {
		for _, typ := range []string{"response.failed", "response.incomplete"} {
			su := NewStreamUsage(Responses)
			su.Event(ev("", `{"type":"`+typ+`","response":{"model":"o3","usage":{"input_tokens":7,"output_tokens":2,"input_tokens_details":{"cached_tokens":3,"cache_write_tokens":1}}}}`))
			if u, m := su.Usage(); u != (Usage{Input: 7, Output: 2, CachedInput: 3, CacheWrite: 1, Known: true}) || m != "o3" || !su.Done() {
				t.Fatalf("%s: %+v %q %v", typ, u, m, su.Done())
			}
		}
	})
	t.Run("junk is ignored", func(t *testing.T) {
		su := NewStreamUsage(Responses)
		for _, d := range []string{"", "{", "[DONE", `{"type":5}`, strings.Repeat("{", 100000), `{"type":"response.completed","response":7}`} {
			su.Event(ev("", d))
		}
		su.Event(sse.Event{Raw: []byte(": keep-alive\n\n")})
		if u, _ := su.Usage(); u.Known {
			t.Fatalf("%+v", u)
		}
	})
}
