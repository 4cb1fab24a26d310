package anthropic

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
		{"POST", "/v1/messages", Messages, true},
		{"POST", "/v1/messages?beta=true", Messages, true},
		{"POST", "/messages", Messages, true},
		{"POST", "/v1//messages/", Messages, true},
		{"POST", "/v1/messages/count_tokens?beta=true", CountTokens, true},
		{"GET", "/v1/messages", 0, false},
		{"POST", "/v1/messages/batches", 0, false},
		{"POST", "/v1/complete", 0, false},
		{"POST", "/v1/Messages", 0, false},
	}
	for _, tt := range tests {
		got, ok := EndpointFor(tt.method, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("EndpointFor(%q, %q) = %v, %v; want %v, %v", tt.method, tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if Messages.String() != "messages" || CountTokens.String() != "count_tokens" || Endpoint(0).String() != "Endpoint(0)" {
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
		roles     []string
		kinds     []string
		tools     []string
		calls     []ToolCall
	}{
		{file: "instructions", ep: Messages, model: "claude-3-opus-latest", maxTokens: 4096, roles: []string{"system", "user"}, kinds: []string{"system", "message"}},
		{file: "count_tokens", ep: CountTokens, model: "claude-sonnet-4-5", roles: []string{"user"}, kinds: []string{"message"}},
		{file: "streaming_tool_use", ep: Messages, model: "claude-3-7-sonnet-latest", stream: true, maxTokens: 512, roles: []string{"user"}, kinds: []string{"message"}, tools: []string{"get_weather"}},
		{file: "tool_result", ep: Messages, model: "claude-3-7-sonnet-latest", maxTokens: 512, roles: []string{"user", "assistant", "user"},
			kinds: []string{"message", "message", "tool_call_arguments", "tool_call_arguments", "tool_result"}, tools: []string{"get_weather"},
			calls: []ToolCall{{ID: "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", Name: "get_weather", Arguments: `{"city":"San Francisco","units":"fahrenheit"}`}}},
		{file: "tool_call_error", ep: Messages, model: "claude-3-7-sonnet-latest", maxTokens: 512, roles: []string{"user", "assistant", "user"},
			kinds: []string{"message", "message", "tool_call_arguments", "tool_result"}, tools: []string{"get_weather"},
			calls: []ToolCall{{ID: "toolu_01XKSJ1fM9PHM9vpwH1p7PDT", Name: "get_weather", Arguments: `{"city":"San Francisco"}`}}},
		{file: "thinking", ep: Messages, model: "claude-sonnet-4-0", maxTokens: 4096, roles: []string{"user", "assistant", "user"},
			kinds: []string{"message", "reasoning", "message", "tool_result"}, tools: []string{"get_user_country"},
			calls: []ToolCall{{ID: "toolu_01YGzqpRE16Vricda3Aqcejo", Name: "get_user_country", Arguments: `{}`}}},
		{file: "web_fetch_stream", ep: Messages, model: "claude-sonnet-4-0", stream: true, maxTokens: 4096, roles: []string{"user"}, kinds: []string{"message"}, tools: []string{"web_fetch"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, "requests/"+tt.file+".json")
			r, err := ParseRequest(tt.ep, body, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Endpoint != tt.ep || r.Model != tt.model || r.Stream != tt.stream || r.MaxTokens != tt.maxTokens {
				t.Errorf("got %v %q stream=%v max=%d", r.Endpoint, r.Model, r.Stream, r.MaxTokens)
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
			checkPaths(t, body, r)
		})
	}
}

func TestParseRequestShapes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		paths []string
		msgs  []Message
		calls []ToolCall
	}{
		{
			name: "system blocks, documents, search results, mcp and server tools",
			body: `{"model":"m","system":[{"type":"text","text":"rule 1"},{"type":"text","text":"rule 2","cache_control":{"type":"ephemeral"}}],"messages":[` +
				`{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc body"},"context":"ctx"},` +
				`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"chunk"}]}},{"type":"image","source":{"type":"base64","data":"AAAA"}},` +
				`{"type":"search_result","source":"s","title":"t","content":[{"type":"text","text":"found"}]}]},` +
				`{"role":"assistant","content":[{"type":"server_tool_use","id":"s1","name":"web_search","input":{"query":"q","opts":{"a.b":["x",1]}}},` +
				`{"type":"mcp_tool_use","id":"m1","name":"ask","server_name":"wiki","input":{}},{"type":"mcp_tool_result","tool_use_id":"m1","content":[{"type":"text","text":"answer"}]},` +
				`{"type":"redacted_thinking","data":"xyz"},{"type":"future_block","text":"new"}]}]}`,
			paths: []string{"system.0.text", "system.1.text", "messages.0.content.0.source.data", "messages.0.content.0.context", "messages.0.content.1.source.content.0.text",
				"messages.0.content.3.content.0.text", "messages.1.content.0.input.query", `messages.1.content.0.input.opts.a\.b.0`, "messages.1.content.2.content.0.text", "messages.1.content.4.text"},
			msgs:  []Message{{"system", "rule 1\nrule 2"}, {"user", "doc body\nctx\nchunk\nfound"}, {"assistant", "answer\nnew"}},
			calls: []ToolCall{{ID: "s1", Name: "web_search", Arguments: `{"query":"q","opts":{"a.b":["x",1]}}`}, {ID: "m1", Name: "ask", Arguments: `{}`}},
		},
		{
			name:  "string content and tool result string",
			body:  `{"model":"m","system":"sys","messages":[{"role":"user","content":"hi"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"}]}]}`,
			paths: []string{"system", "messages.0.content", "messages.1.content.0.content"},
			msgs:  []Message{{"system", "sys"}, {"user", "hi"}, {"user", "42"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest(Messages, []byte(tt.body), Limits{})
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
			checkPaths(t, []byte(tt.body), r)
		})
	}
}

func TestParseRequestBad(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	deepContent := `{"model":"m","messages":[{"role":"user","content":` + strings.Repeat(`[{"type":"tool_result","content":`, 40) + `"t"` + strings.Repeat("}]", 40) + `}]}`
	tests := []struct {
		name   string
		ep     Endpoint
		body   string
		status int
		msg    string
	}{
		{"not json", Messages, `hello`, 400, "not valid JSON"},
		{"truncated", Messages, `{"model":"m","messages":[{"role":"user","content":"hi"`, 400, "not valid JSON"},
		{"invalid utf8", Messages, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", 400, "UTF-8"},
		{"array body", Messages, `[{"model":"m"}]`, 400, "not a JSON object"},
		{"model missing", Messages, `{"messages":[]}`, 400, "model"},
		{"model not string", CountTokens, `{"model":["claude"],"messages":[]}`, 400, "model"},
		{"model repeated", Messages, `{"model":"claude-haiku","model":"claude-opus","messages":[]}`, 400, "repeated"},
		{"messages missing", Messages, `{"model":"m"}`, 400, "messages"},
		{"messages not array", Messages, `{"model":"m","messages":"hi"}`, 400, "messages"},
		{"message not object", Messages, `{"model":"m","messages":[1]}`, 400, "objects"},
		{"role not string", Messages, `{"model":"m","messages":[{"role":1,"content":"x"}]}`, 400, "role"},
		{"content null", Messages, `{"model":"m","messages":[{"role":"user","content":null}]}`, 400, "content"},
		{"text not string", Messages, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":{}}]}]}`, 400, "text"},
		{"text repeated", Messages, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ok","text":"secret"}]}]}`, 400, "repeated"},
		{"tool input key repeated", Messages, `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"1","name":"f","input":{"q":"a","q":"b"}}]}]}`, 400, "repeated"},
		{"system number", Messages, `{"model":"m","system":1,"messages":[]}`, 400, "system"},
		{"max_tokens string", Messages, `{"model":"m","max_tokens":"9","messages":[]}`, 400, "max_tokens"},
		{"stream string", Messages, `{"model":"m","stream":"true","messages":[]}`, 400, "stream"},
		{"tools object", Messages, `{"model":"m","messages":[],"tools":{"name":"x"}}`, 400, "tools"},
		{"deep nesting", Messages, deep, 400, "deep"},
		{"deep content blocks", Messages, deepContent, 400, "deep"},
		{"unknown endpoint", Endpoint(7), `{}`, 400, "endpoint"},
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
	body := `{"model":"m","messages":[{"role":"user","content":` + strings.Repeat(`[{"type":"tool_result","content":`, 20) + `"deep"` + strings.Repeat("}]", 20) + `}]}`
	r, err := ParseRequest(Messages, []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Texts) != 1 || r.Texts[0].Value != "deep" || r.Texts[0].Kind != KindToolResult {
		t.Fatalf("texts %+v", r.Texts)
	}
	checkPaths(t, []byte(body), r)

	var b strings.Builder
	b.WriteString(`{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"x","name":"f","input":{"list":[`)
	for i := range 101 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"s"`)
	}
	b.WriteString(`]}}]}]}`)
	_, err = ParseRequest(Messages, []byte(b.String()), Limits{MaxTexts: 100})
	var e *Error
	if !errors.As(err, &e) || e.Status != 413 || e.Type != TypeRequestTooLarge {
		t.Fatalf("err = %v, want 413 request_too_large", err)
	}

	big := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"` + strings.Repeat("a", 10<<20) + `"}]}]}`
	start := time.Now()
	r, err = ParseRequest(Messages, []byte(big), Limits{})
	if err != nil || len(r.Messages[0].Text) != 10<<20 {
		t.Fatal(err)
	}
	t.Logf("10 MB prompt parsed in %v", time.Since(start))
}
