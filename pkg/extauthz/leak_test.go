package extauthz

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The injected provider key travels only in the OK answer's headers, to
// Envoy; neither it nor a secret the client sent (in a prompt, arguments,
// headers or the query) comes back out of agentguard: not in denial
// bodies, audit records, logs or metrics.
func TestSecretsDoNotLeak(t *testing.T) {
	const secret = "sk-live-PROMPTSECRETSECRET0123456789"
	f := newFakeEnvoy(t, nil)
	prompt := func(model string) []byte {
		return []byte(`{"model":"` + model + `","max_tokens":100,"messages":[{"role":"user","content":"deploy with key ` + secret + `"}]}`)
	}
	llm := func(path string, kv ...string) map[string]string {
		return bodyHeaders(nil, append([]string{":path", path + "?key=" + secret, "x-forwarded-client-cert", xfcc(reviewer),
			"authorization", "Bearer " + secret, "x-api-key", secret}, kv...)...)
	}
	mcp := func(kv ...string) map[string]string {
		return bodyHeaders(nil, append([]string{":path", "/mcp?access_token=" + secret, "x-mcp-server", "github", "x-agent-id", "code-reviewer"}, kv...)...)
	}
	clean := []byte(`{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"review this"}]}`)
	cleanClaude := []byte(`{"model":"claude-sonnet-4-20250514","max_tokens":100,"messages":[{"role":"user","content":"review this"}]}`)
	checks := []check{
		// Allowed: the secret is only in the client's credential headers
		// and query, which the provider never gets.
		{profile: "openai", body: clean, headers: llm("/v1/chat/completions")},
		{profile: "anthropic", body: cleanClaude, headers: llm("/v1/messages")},
		// A secret in the prompt: allowed or denied as the profile's
		// inspection says; either way it must not come back out.
		{profile: "openai", body: prompt("gpt-4o"), headers: llm("/v1/chat/completions")},
		{profile: "openai", body: prompt("gpt-5-pro"), headers: llm("/v1/chat/completions")},
		{profile: "openai", body: prompt("gpt-4o"), headers: llm("/v1/chat/completions", "x-forwarded-client-cert", `Hash="`+secret)},
		{profile: "openai", body: []byte(`{"model":"gpt-4o","messages":"` + secret + `"}`), headers: llm("/v1/chat/completions")},
		{profile: "openai", partial: true, body: prompt("gpt-4o")[:40], headers: llm("/v1/chat/completions")},
		{profile: "anthropic", body: prompt("claude-sonnet-4-20250514"), headers: llm("/v1/messages")},
		{profile: "anthropic", body: prompt("claude-3-opus-20240229"), headers: llm("/v1/messages")},
		{profile: "anthropic", headers: llm("/v1/messages", "content-length", "99")},
		{profile: "mcp", body: readTestdata(t, "tools_call_secret_arg.json"), headers: mcp()},
		{profile: "mcp", body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repository","arguments":{"token":"` + secret + `"}}}`), headers: mcp()},
		{profile: "mcp", body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":"` + secret + `"}}`), headers: mcp()},
		{profile: "mcp", body: readTestdata(t, "tools_call_get_pr.json"), headers: mcp("x-agent-id", secret)},
		{profile: "mcp", body: readTestdata(t, "tools_call_get_pr.json"), headers: mcp("x-mcp-server", secret)},
		{profile: "orchestrator", body: []byte(`{"token":"` + secret + `"}`), headers: bodyHeaders(nil, ":path", "/webhook", "x-hub-signature-256", "sha256="+secret)},
	}
	var replies strings.Builder
	injected, allowedLLM := 0, 0
	for _, c := range checks {
		a := f.check(c)
		if a.allowed && (c.profile == "openai" || c.profile == "anthropic") {
			allowedLLM++
		}
		replies.WriteString(a.body)
		for k, v := range a.headers {
			replies.WriteString(k + ": " + v + "\n")
		}
		for k, v := range a.set {
			if strings.Contains(v, "KEYSECRET") {
				injected++ // where the key belongs: to Envoy, for the provider
				continue
			}
			replies.WriteString(k + ": " + v + "\n")
		}
	}
	if injected != allowedLLM || injected < 2 {
		t.Errorf("provider key injected %d times, want once per allowed LLM call (%d, at least 2)", injected, allowedLLM)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(f.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for where, text := range map[string]string{
		"replies": replies.String(), "audit": f.audit.String(), "logs": f.logs.String(), "metrics": rec.Body.String(),
	} {
		for _, s := range []string{"SECRETSECRET", "KEYSECRET"} {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%s in %s: …%s…", s, where, text[max(0, i-120):min(len(text), i+40)])
			}
		}
	}
}
