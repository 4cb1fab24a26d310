package openai

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEndpointFor(t *testing.T) {
	tests := []struct {
		method, path string
		want         Endpoint
		ok           bool
	}{
		{"POST", "/v1/chat/completions", ChatCompletions, true},
		{"POST", "/v1/chat/completions?api-version=1", ChatCompletions, true},
		{"POST", "/chat/completions", ChatCompletions, true},
		{"POST", "//v1//chat/completions/", ChatCompletions, true},
		{"POST", "/v1/responses", Responses, true},
		{"POST", "/v1/embeddings", Embeddings, true},
		{"POST", "/v1/completions", Completions, true},
		{"GET", "/v1/chat/completions", 0, false},
		{"post", "/v1/chat/completions", 0, false},
		{"POST", "/v1/responses/resp_123/cancel", 0, false},
		{"POST", "/v1/files", 0, false},
		{"POST", "/openai/deployments/x/chat/completions", 0, false},
		{"POST", "/v1/Chat/Completions", 0, false},
	}
	for _, tt := range tests {
		got, ok := EndpointFor(tt.method, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("EndpointFor(%q, %q) = %v, %v; want %v, %v", tt.method, tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if ChatCompletions.String() != "chat_completions" || Endpoint(0).String() != "Endpoint(0)" {
		t.Error("String")
	}
}

func roles(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Role)
	}
	return out
}

func kinds(ts []Text) []string {
	var out []string
	for _, x := range ts {
		out = append(out, x.Kind)
	}
	return out
}

func TestParseRequestTestdata(t *testing.T) {
	tests := []struct {
		file      string
		ep        Endpoint
		model     string
		stream    bool
		maxTokens int64
		include   bool
		roles     []string
		kinds     []string
		tools     []string
		calls     []ToolCall
		firstText string
	}{
		{file: "chat_basic", ep: ChatCompletions, model: "gpt-5-nano", roles: []string{"user"}, kinds: []string{"message"}, firstText: "Hello!"},
		{file: "chat_multiturn", ep: ChatCompletions, model: "gpt-5-nano", roles: []string{"developer", "user", "assistant", "user"},
			kinds: []string{"system", "message", "message", "message"}, firstText: "You are a helpful assistant."},
		{file: "chat_detailed_usage", ep: ChatCompletions, model: "gpt-5-nano", maxTokens: 100, roles: []string{"developer"}, kinds: []string{"system"}},
		{file: "chat_streaming_usage", ep: ChatCompletions, model: "gpt-5-nano", stream: true, include: true, maxTokens: 100, roles: []string{"developer"}, kinds: []string{"system"}},
		{file: "chat_streaming_no_usage", ep: ChatCompletions, model: "gpt-5-nano", stream: true, roles: []string{"user"}, kinds: []string{"message"}},
		{file: "chat_multimodal", ep: ChatCompletions, model: "gpt-5-nano", maxTokens: 100, roles: []string{"user"}, kinds: []string{"message"}, firstText: "What is in this image?"},
		{file: "chat_parallel_tools", ep: ChatCompletions, model: "gpt-5-nano", roles: []string{"user"}, kinds: []string{"message"}, tools: []string{"get_current_weather"}},
		{file: "chat_bad_request", ep: ChatCompletions, model: "gpt-5-nano", roles: []string{"user"}},
		{file: "chat_tool_output", ep: ChatCompletions, model: "gpt-4o", roles: []string{"user", "assistant", "tool"},
			kinds: []string{"message", "tool_call_arguments", "tool_result"}, tools: []string{"get_user_country", "final_result"},
			calls: []ToolCall{{ID: "call_iXFttys57ap0o16JSlC8yhYo", Name: "get_user_country", Arguments: "{}"}}},
		{file: "completion_text_batch", ep: Completions, model: "babbage-002", maxTokens: 25, roles: []string{"user", "user"}, kinds: []string{"prompt", "prompt"}},
		{file: "completion_streaming_usage", ep: Completions, model: "babbage-002", maxTokens: 25, stream: true, include: true, roles: []string{"user"}, kinds: []string{"prompt"}},
		{file: "responses_reasoning", ep: Responses, model: "o3-mini", roles: []string{"user"}, kinds: []string{"message"}},
		{file: "responses_web_search_stream", ep: Responses, model: "gpt-5", stream: true, roles: []string{"system", "user"},
			kinds: []string{"instructions", "message"}, firstText: "You are a helpful assistant."},
		{file: "responses_tool_call", ep: Responses, model: "gpt-4o", roles: []string{"user", "tool"},
			kinds: []string{"message", "tool_call_arguments", "tool_result"}, tools: []string{"get_capital"},
			calls: []ToolCall{{ID: "call_YfwRsW8sUxDKipwyhWTzOXCA", Name: "get_capital", Arguments: `{"country":"PotatoLand"}`}}},
		{file: "responses_stream_followup", ep: Responses, model: "gpt-4o", stream: true, roles: []string{"user", "tool"},
			kinds: []string{"message", "tool_call_arguments", "tool_result"}, tools: []string{"get_capital"},
			calls: []ToolCall{{ID: "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2", Name: "get_capital", Arguments: `{"country":"France"}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, "requests/"+tt.file+".json")
			r, err := ParseRequest(tt.ep, body, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Endpoint != tt.ep || r.Model != tt.model || r.Stream != tt.stream || r.MaxTokens != tt.maxTokens || r.IncludeUsage != tt.include {
				t.Errorf("got %v %q stream=%v max=%d include=%v", r.Endpoint, r.Model, r.Stream, r.MaxTokens, r.IncludeUsage)
			}
			if got := roles(r.Messages); !slices.Equal(got, tt.roles) {
				t.Errorf("roles %q, want %q", got, tt.roles)
			}
			if got := kinds(r.Texts); !slices.Equal(got, tt.kinds) {
				t.Errorf("kinds %q, want %q", got, tt.kinds)
			}
			if !slices.Equal(r.Tools, tt.tools) {
				t.Errorf("tools %q, want %q", r.Tools, tt.tools)
			}
			if !slices.Equal(r.ToolCalls, tt.calls) {
				t.Errorf("tool calls %+v, want %+v", r.ToolCalls, tt.calls)
			}
			if tt.firstText != "" && r.Texts[0].Value != tt.firstText {
				t.Errorf("first text %q", r.Texts[0].Value)
			}
			checkPaths(t, body, r)
		})
	}
}

func TestParseRequestShapes(t *testing.T) {
	tests := []struct {
		name  string
		ep    Endpoint
		body  string
		paths []string
		msgs  []Message
		calls []ToolCall
		tools []string
	}{
		{
			name: "content parts, refusal, unknown part types",
			ep:   ChatCompletions,
			body: `{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"sys"}]},` +
				`{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:x"}},{"type":"future","text":"b","content":[{"text":"c"}]}]},` +
				`{"role":"assistant","content":[{"type":"refusal","refusal":"no"}],"function_call":{"name":"f","arguments":"{\"x\":1}"}}]}`,
			paths: []string{"messages.0.content.0.text", "messages.1.content.0.text", "messages.1.content.2.text", "messages.1.content.2.content.0.text",
				"messages.2.content.0.refusal", "messages.2.function_call.arguments"},
			msgs:  []Message{{"system", "sys"}, {"user", "a\nb\nc"}, {"assistant", "no"}},
			calls: []ToolCall{{Name: "f", Arguments: `{"x":1}`}},
		},
		{
			name: "custom tool calls and prediction",
			ep:   ChatCompletions,
			body: `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"custom","custom":{"name":"grep","input":"foo"}}]}],` +
				`"prediction":{"type":"content","content":"old code"},"tools":[{"type":"custom","custom":{"name":"grep"}}],"functions":[{"name":"legacy"}]}`,
			paths: []string{"messages.0.tool_calls.0.custom.input", "prediction.content"},
			msgs:  []Message{{"assistant", ""}},
			calls: []ToolCall{{ID: "c1", Name: "grep", Arguments: "foo"}},
			tools: []string{"grep", "legacy"},
		},
		{
			name:  "responses string input, prompt variables, reasoning, mcp and custom calls",
			ep:    Responses,
			body:  `{"model":"m","instructions":"be nice","input":"hi","prompt":{"id":"p","variables":{"who":"Bob","doc":{"type":"input_text","text":"secret"}}}}`,
			paths: []string{"instructions", "input", "prompt.variables.who", "prompt.variables.doc.text"},
			msgs:  []Message{{"system", "be nice"}, {"user", "hi"}},
		},
		{
			name: "responses items",
			ep:   Responses,
			body: `{"model":"m","input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"dev"}]},` +
				`{"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":"thought"}]},` +
				`{"type":"custom_tool_call","call_id":"c","name":"sh","input":"ls"},{"type":"custom_tool_call_output","call_id":"c","output":[{"type":"input_text","text":"a.txt"}]},` +
				`{"type":"mcp_call","id":"m1","name":"search","arguments":"{}","output":"found","server_label":"gh"},{"type":"item_reference","id":"x"}],` +
				`"tools":[{"type":"function","name":"f"},{"type":"web_search"}]}`,
			paths: []string{"input.0.content.0.text", "input.1.summary.0.text", "input.2.input", "input.3.output.0.text", "input.4.arguments", "input.4.output"},
			msgs:  []Message{{"developer", "dev"}, {"tool", "a.txt"}},
			calls: []ToolCall{{ID: "c", Name: "sh", Arguments: "ls"}, {ID: "m1", Name: "search", Arguments: "{}"}},
			tools: []string{"f"},
		},
		{
			name:  "embeddings array with tokens",
			ep:    Embeddings,
			body:  `{"model":"text-embedding-3-small","input":["one",[1,2],3,"two"]}`,
			paths: []string{"input.0", "input.3"},
			msgs:  []Message{{"input", "one"}, {"input", "two"}},
		},
		{
			name:  "embeddings string",
			ep:    Embeddings,
			body:  `{"model":"e","input":"x"}`,
			paths: []string{"input"},
			msgs:  []Message{{"input", "x"}},
		},
		{
			name:  "keys needing escapes",
			ep:    Responses,
			body:  `{"model":"m","prompt":{"variables":{"a.b":"1","@this":"2","*":"3","":"4","k\u0041":"5"}}}`,
			paths: []string{`prompt.variables.a\.b`, `prompt.variables.\@this`, `prompt.variables.\*`, `prompt.variables.`, `prompt.variables.kA`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest(tt.ep, []byte(tt.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, x := range r.Texts {
				paths = append(paths, x.Path)
			}
			if !slices.Equal(paths, tt.paths) {
				t.Errorf("paths %q\nwant %q", paths, tt.paths)
			}
			if !slices.Equal(r.Messages, tt.msgs) {
				t.Errorf("messages %q, want %q", r.Messages, tt.msgs)
			}
			if !slices.Equal(r.ToolCalls, tt.calls) {
				t.Errorf("calls %+v, want %+v", r.ToolCalls, tt.calls)
			}
			if !slices.Equal(r.Tools, tt.tools) {
				t.Errorf("tools %q, want %q", r.Tools, tt.tools)
			}
			checkPaths(t, []byte(tt.body), r)
		})
	}
}

func TestParseRequestBad(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepContent := `{"model":"m","messages":[{"role":"user","content":` + strings.Repeat(`[{"type":"x","content":`, 40) + `"t"` + strings.Repeat("}]", 40) + `}]}`
	tests := []struct {
		name   string
		ep     Endpoint
		body   string
		status int
		msg    string
	}{
		{"not json", ChatCompletions, `hello`, 400, "not valid JSON"},
		{"truncated", ChatCompletions, `{"model":"m","messages":[{"role":"user","content":"hi"`, 400, "not valid JSON"},
		{"invalid utf8", ChatCompletions, "{\"model\":\"m\xff\",\"messages\":[]}", 400, "UTF-8"},
		{"array body", ChatCompletions, `[]`, 400, "not a JSON object"},
		{"empty", ChatCompletions, ``, 400, "not valid JSON"},
		{"model missing", ChatCompletions, `{"messages":[]}`, 400, "model"},
		{"model not string", ChatCompletions, `{"model":4,"messages":[]}`, 400, "model"},
		{"model empty", ChatCompletions, `{"model":"","messages":[]}`, 400, "model"},
		{"model repeated", ChatCompletions, `{"model":"gpt-4o-mini","messages":[],"model":"gpt-5"}`, 400, "repeated"},
		{"messages missing", ChatCompletions, `{"model":"m"}`, 400, "messages"},
		{"messages not array", ChatCompletions, `{"model":"m","messages":{"role":"user"}}`, 400, "messages"},
		{"message not object", ChatCompletions, `{"model":"m","messages":["hi"]}`, 400, "objects"},
		{"role missing", ChatCompletions, `{"model":"m","messages":[{"content":"hi"}]}`, 400, "role"},
		{"content number", ChatCompletions, `{"model":"m","messages":[{"role":"user","content":1}]}`, 400, "content"},
		{"text not string", ChatCompletions, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, 400, "text"},
		{"text repeated", ChatCompletions, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ok","text":"secret"}]}]}`, 400, "repeated"},
		{"stream not bool", ChatCompletions, `{"model":"m","messages":[],"stream":"yes"}`, 400, "stream"},
		{"max tokens fraction", ChatCompletions, `{"model":"m","messages":[],"max_tokens":1.5}`, 400, "max_tokens"},
		{"max tokens negative", ChatCompletions, `{"model":"m","messages":[],"max_completion_tokens":-1}`, 400, "max_completion_tokens"},
		{"max tokens huge", ChatCompletions, `{"model":"m","messages":[],"max_tokens":99999999999999999999}`, 400, "max_tokens"},
		{"stream_options not object", ChatCompletions, `{"model":"m","messages":[],"stream_options":true}`, 400, "stream_options"},
		{"tool_calls not array", ChatCompletions, `{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}`, 400, "tool_calls"},
		{"arguments not string", ChatCompletions, `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":{}}}]}]}`, 400, "arguments"},
		{"tools not array", ChatCompletions, `{"model":"m","messages":[],"tools":{}}`, 400, "tools"},
		{"deep nesting", ChatCompletions, deep, 400, "deep"},
		{"deep content parts", ChatCompletions, deepContent, 400, "deep"},
		{"input wrong type", Responses, `{"model":"m","input":5}`, 400, "input"},
		{"instructions wrong type", Responses, `{"model":"m","instructions":[]}`, 400, "instructions"},
		{"input message without role", Responses, `{"model":"m","input":[{"type":"message","content":"x"}]}`, 400, "role"},
		{"embeddings input missing", Embeddings, `{"model":"m"}`, 400, "input"},
		{"embeddings input object", Embeddings, `{"model":"m","input":[{}]}`, 400, "input"},
		{"unknown endpoint", Endpoint(9), `{"model":"m"}`, 400, "endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequest(tt.ep, []byte(tt.body), Limits{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != tt.status || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got %d %q, want %d containing %q", e.Status, e.Message, tt.status, tt.msg)
			}
		})
	}
}

func TestParseRequestLimits(t *testing.T) {
	// Within MaxDepth: content parts nested deeply still yield their text.
	body := `{"model":"m","messages":[{"role":"user","content":` + strings.Repeat(`[{"type":"x","content":`, 20) + `"deep"` + strings.Repeat("}]", 20) + `}]}`
	r, err := ParseRequest(ChatCompletions, []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Texts) != 1 || r.Texts[0].Value != "deep" {
		t.Fatalf("texts %+v", r.Texts)
	}
	checkPaths(t, []byte(body), r)

	// Too many texts: 413.
	var b strings.Builder
	b.WriteString(`{"model":"m","messages":[`)
	for i := range 101 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":"x"}`)
	}
	b.WriteString(`]}`)
	_, err = ParseRequest(ChatCompletions, []byte(b.String()), Limits{MaxTexts: 100})
	var e *Error
	if !errors.As(err, &e) || e.Status != 413 {
		t.Fatalf("err = %v, want 413", err)
	}

	// A 10 MB prompt parses in linear time (logged, not asserted).
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("a", 10<<20) + `"}]}`
	start := time.Now()
	r, err = ParseRequest(ChatCompletions, []byte(big), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Texts[0].Value) != 10<<20 {
		t.Fatal("prompt length")
	}
	t.Logf("10 MB prompt parsed in %v", time.Since(start))

	// An object with many members switches to the map-based duplicate check.
	b.Reset()
	b.WriteString(`{"model":"m","prompt":{"variables":{`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
	}
	b.WriteString(`,"k":"dup"}}}`)
	if _, err := ParseRequest(Responses, []byte(b.String()), Limits{}); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("err = %v, want repeated member", err)
	}
}
