package extproc

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/policies"
)

const (
	openaiKey    = "sk-test-OPENAIKEYSECRET0123456789"
	anthropicKey = "sk-ant-test-ANTHROPICKEYSECRET0123"
)

func llmEnvoy(t *testing.T) *fakeEnvoy {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", openaiKey)
	t.Setenv("ANTHROPIC_API_KEY", anthropicKey)
	return newFakeEnvoy(t, policies.CodeReview)
}

func llmHeaders(path string, extra map[string]string) map[string]string {
	h := map[string]string{":method": "POST", ":path": path, ":authority": "llm.local", "content-type": "application/json",
		"x-request-id": "llm-1", "x-agent-id": "code-reviewer"}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// The agent's own key is removed and the provider's injected; the Go SDK
// sends x-api-key, the npm one Authorization: both go.
func TestCredentialInjection(t *testing.T) {
	f := llmEnvoy(t)
	cases := []struct {
		profile, path string
		sent          map[string]string
		wantName      string
		wantValue     string
	}{
		{"openai", "/v1/chat/completions", map[string]string{"authorization": "Bearer agent-key"}, "authorization", "Bearer " + openaiKey},
		{"anthropic", "/v1/messages", map[string]string{"x-api-key": "agent-key"}, "x-api-key", anthropicKey},
		{"anthropic", "/v1/messages", map[string]string{"authorization": "Bearer agent-key", "api-key": "x"}, "x-api-key", anthropicKey},
	}
	for _, tc := range cases {
		c := f.open(tc.profile)
		r := c.requestHeaders(llmHeaders(tc.path, tc.sent), false)
		set := setHeaders(r)
		if set[tc.wantName] != tc.wantValue {
			t.Errorf("%s: %s not injected", tc.profile, tc.wantName)
		}
		for name := range tc.sent {
			if name != tc.wantName && set[name] != "<removed>" {
				t.Errorf("%s: client header %s not removed", tc.profile, name)
			}
		}
		if tc.profile == "anthropic" && set["anthropic-version"] != "2023-06-01" {
			t.Errorf("anthropic-version not set")
		}
		c.close()
	}
}

// A streamed chat completion without include_usage gets it, so usage is
// always known, and the extra usage chunk is dropped before the client.
func TestStreamUsageAddedAndHidden(t *testing.T) {
	f := llmEnvoy(t)
	c := f.open("openai")
	defer c.close()
	c.requestHeaders(llmHeaders("/v1/chat/completions", map[string]string{"x-workflow-id": "pr-7"}), false)
	body := []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	r := c.requestBody(body, true)
	nb := bodyOut(body, r)
	if !gjson.GetBytes(nb, "stream_options.include_usage").Bool() {
		t.Fatalf("include_usage not added: %s", nb)
	}
	if setHeaders(r)["content-length"] != itoa(len(nb)) {
		t.Errorf("content-length %q for a %d-byte body", setHeaders(r)["content-length"], len(nb))
	}
	r = c.responseHeaders(map[string]string{":status": "200", "content-type": "text/event-stream"}, false)
	if r.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED {
		t.Fatalf("mode %v", r.GetModeOverride())
	}
	chunks := []string{
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}\n\n",
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\ndata: {\"id\":\"c\",\"object\":\"chat.co",
		"mpletion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\ndata: [DONE]\n\n",
	}
	var got []byte
	for i, ch := range chunks {
		got = append(got, bodyOut([]byte(ch), c.responseBody([]byte(ch), i == len(chunks)-1))...)
	}
	if bytes.Contains(got, []byte(`"prompt_tokens"`)) || !bytes.Contains(got, []byte(`"content":"Hi"`)) || !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) {
		t.Fatalf("client stream:\n%s", got)
	}
	c.close()
	waitFor(t, func() bool { return strings.Contains(f.audit.String(), `"llm"`) })
	a := f.audit.String()
	for _, want := range []string{`"input_tokens":9`, `"output_tokens":2`, `"workflow":"pr-7"`, `"priced_as":"gpt-4o-mini"`, `"cost_usd":`} {
		if !strings.Contains(a, want) {
			t.Errorf("audit lacks %s: %s", want, a)
		}
	}
}

// Errors come in the provider's own shape.
func TestLLMErrorShapes(t *testing.T) {
	f := llmEnvoy(t)
	cases := []struct {
		profile, path string
		body          string
		status        int
		check         func(b []byte) bool
	}{
		{"openai", "/v1/chat/completions", `{"model":`, 400, func(b []byte) bool {
			return gjson.GetBytes(b, "error.message").Exists() && gjson.GetBytes(b, "error.type").String() == "invalid_request_error"
		}},
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-20250514","messages":"nope","max_tokens":1}`, 400, func(b []byte) bool {
			return gjson.GetBytes(b, "type").String() == "error" && gjson.GetBytes(b, "error.type").String() == "invalid_request_error"
		}},
		{"anthropic", "/v1/messages", `{"model":"claude-3-haiku-20240307","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 403, func(b []byte) bool {
			return gjson.GetBytes(b, "error.type").String() == "permission_error"
		}},
		{"openai", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 5<<20) + `"}]}`, 413, func(b []byte) bool {
			return gjson.GetBytes(b, "error.message").Exists()
		}},
	}
	for _, tc := range cases {
		c := f.open(tc.profile)
		c.requestHeaders(llmHeaders(tc.path, nil), false)
		r := c.requestBody([]byte(tc.body), true)
		ir := r.GetImmediateResponse()
		if ir == nil || int(ir.GetStatus().GetCode()) != tc.status || !tc.check(ir.GetBody()) {
			t.Errorf("%s %s: got %v", tc.profile, tc.body[:min(40, len(tc.body))], r)
		}
		c.close()
	}
}

// Provider keys never come back out: not in replies, audit, logs, metrics.
func TestProviderKeysDoNotLeak(t *testing.T) {
	f := llmEnvoy(t)
	var replies bytes.Buffer
	for _, tc := range []struct{ profile, path, body string }{
		{"openai", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
		{"openai", "/v1/chat/completions", `{"model":"gpt-9","messages":[]}`},
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-20250514","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`},
		{"anthropic", "/v1/messages", `not json`},
	} {
		c := f.open(tc.profile)
		c.requestHeaders(llmHeaders(tc.path, map[string]string{"authorization": "Bearer " + openaiKey}), false)
		if ir := c.requestBody([]byte(tc.body), true).GetImmediateResponse(); ir != nil {
			replies.Write(ir.GetBody())
		}
		c.responseHeaders(map[string]string{":status": "401", "content-type": "application/json"}, false)
		c.close()
	}
	waitFor(t, func() bool { return strings.Count(f.audit.String(), "\n") >= 4 })
	for where, text := range map[string]string{"replies": replies.String(), "audit": f.audit.String(), "logs": f.logs.String()} {
		if strings.Contains(text, "KEYSECRET") {
			t.Errorf("provider key in %s", where)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A provider's 401/403 may quote part of the key agentguard injected: the
// agent gets the status and agentguard's own message, and no account
// headers. Accounting cannot be switched off with Accept-Encoding, and the
// provider sees none of the mesh's headers.
func TestProviderRefusalAndHeaders(t *testing.T) {
	f := llmEnvoy(t)
	c := f.open("openai")
	defer c.close()
	r := c.requestHeaders(llmHeaders("/v1/chat/completions", map[string]string{
		"accept-encoding": "gzip", "x-forwarded-client-cert": xfcc(reviewer), "x-workflow-id": "wf"}), false)
	set := setHeaders(r)
	if set["accept-encoding"] != "identity" {
		t.Errorf("accept-encoding %q", set["accept-encoding"])
	}
	for _, h := range []string{"x-forwarded-client-cert", "x-agent-id", "x-workflow-id"} {
		if set[h] != "<removed>" {
			t.Errorf("%s reaches the provider", h)
		}
	}
	if _, ok := set["x-agentguard-agent"]; ok {
		t.Error("x-agentguard-agent reaches the provider")
	}
	c.requestBody([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`), true)
	r = c.responseHeaders(map[string]string{":status": "401", "content-type": "application/json", "openai-organization": "org-secret"}, false)
	if setHeaders(r)["openai-organization"] != "<removed>" {
		t.Error("account header passed to the agent")
	}
	upstream := []byte(`{"error":{"message":"Incorrect API key provided: sk-test-****6789.","type":"invalid_request_error","code":"invalid_api_key"}}`)
	out := bodyOut(upstream, c.responseBody(upstream, true))
	if bytes.Contains(out, []byte("6789")) || !gjson.GetBytes(out, "error.message").Exists() {
		t.Errorf("provider refusal passed on: %s", out)
	}
}
