package extauthz

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"google.golang.org/grpc/codes"
)

// xfcc is the header an Istio waypoint writes for a client.
func xfcc(spiffe string) string {
	return `By=spiffe://cluster.local/ns/agents/sa/waypoint;Hash=0f0f;Subject="";URI=` + spiffe
}

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// bodyHeaders are the headers of a request with a JSON body (its length
// unknown when body is nil).
func bodyHeaders(body []byte, kv ...string) map[string]string {
	h := map[string]string{"content-type": "application/json"}
	if len(body) > 0 {
		h["content-length"] = strconv.Itoa(len(body))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// want is the expected answer: allowed with headers set and removed, or
// denied with a status, a gRPC code and a body check.
type want struct {
	status  int // 0: allowed
	code    codes.Code
	set     map[string]string
	removed []string
	body    func(t *testing.T, body string)
}

func (w want) verify(t *testing.T, a answer) {
	t.Helper()
	if w.status == 0 {
		if !a.allowed {
			t.Fatalf("denied %d: %s", a.status, a.body)
		}
		for k, v := range w.set {
			if a.set[k] != v {
				t.Errorf("header %s = %q, want %q", k, a.set[k], v)
			}
		}
		for _, r := range w.removed {
			if !a.removes(r) {
				t.Errorf("%s not removed (removed %v)", r, a.removed)
			}
		}
		return
	}
	if a.allowed {
		t.Fatalf("allowed (set %v), want %d", a.set, w.status)
	}
	if a.status != w.status {
		t.Errorf("status %d, want %d (%s)", a.status, w.status, a.body)
	}
	if a.code != w.code {
		t.Errorf("gRPC code %v, want %v", a.code, w.code)
	}
	if a.headers["content-type"] != "application/json" {
		t.Errorf("content-type %q", a.headers["content-type"])
	}
	if !gjson.Valid(a.body) {
		t.Fatalf("body is not JSON: %s", a.body)
	}
	if w.body != nil {
		w.body(t, a.body)
	}
}

// jsonRPCError checks an MCP denial: the request's id echoed and the code.
func jsonRPCError(code int, id string) func(*testing.T, string) {
	return func(t *testing.T, body string) {
		t.Helper()
		if got := gjson.Get(body, "jsonrpc").String(); got != "2.0" {
			t.Errorf("jsonrpc %q in %s", got, body)
		}
		if got := gjson.Get(body, "id").Raw; got != id {
			t.Errorf("id %s, want %s (%s)", got, id, body)
		}
		if got := int(gjson.Get(body, "error.code").Int()); got != code {
			t.Errorf("error.code %d, want %d (%s)", got, code, body)
		}
	}
}

// bodyHas checks members of a JSON error body: path → wanted value.
func bodyHas(kv ...string) func(*testing.T, string) {
	return func(t *testing.T, body string) {
		t.Helper()
		for i := 0; i+1 < len(kv); i += 2 {
			if got := gjson.Get(body, kv[i]).String(); got != kv[i+1] {
				t.Errorf("%s = %q, want %q (%s)", kv[i], got, kv[i+1], body)
			}
		}
	}
}

// Every profile of the default deployment, decided through Check.
func TestDefaultDeployment(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	getPR := readTestdata(t, "tools_call_get_pr.json")
	delRepo := readTestdata(t, "tools_call_delete_repo.json")
	list := readTestdata(t, "tools_list.json")
	hook := readTestdata(t, "webhook_pull_request.json")
	chat := readTestdata(t, "openai_chat.json")
	gpt5 := readTestdata(t, "openai_model_denied.json")
	msgs := readTestdata(t, "anthropic_messages.json")
	opus3 := readTestdata(t, "anthropic_model_denied.json")
	mcpAs := func(body []byte, kv ...string) map[string]string {
		return bodyHeaders(body, append([]string{"x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer)}, kv...)...)
	}
	llm := func(path string, body []byte, kv ...string) map[string]string {
		return bodyHeaders(body, append([]string{":path", path, "x-forwarded-client-cert", xfcc(reviewer)}, kv...)...)
	}
	cases := []struct {
		name string
		c    check
		want want
	}{
		{"orchestrator: signed webhook", check{profile: "orchestrator", body: hook,
			headers: bodyHeaders(hook, ":path", "/webhook/github", "x-hub-signature-256", sign(hook), "x-github-event", "pull_request")},
			want{}},
		{"orchestrator: forged webhook signature", check{profile: "orchestrator", body: hook,
			headers: bodyHeaders(hook, ":path", "/webhook/github", "x-hub-signature-256", sign([]byte("other body")))},
			want{status: 401, code: codes.Unauthenticated, body: bodyHas("error.code", "unauthenticated", "error.rule", "builtin:bad-signature")}},
		{"orchestrator: unsigned webhook", check{profile: "orchestrator", body: hook, headers: bodyHeaders(hook, ":path", "/webhook")},
			want{status: 401, code: codes.Unauthenticated}},
		{"orchestrator: anonymous non-webhook call", check{profile: "orchestrator", headers: map[string]string{":method": "GET", ":path": "/status"}},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.rule", "anonymous-only-webhooks")}},
		{"openai: allowed, key injected, client key removed", check{profile: "openai", body: chat,
			headers: llm("/v1/chat/completions", chat, "authorization", "Bearer agent-key", "x-api-key", "agent-key", "x-workflow-id", "pr-7")},
			want{set: map[string]string{"authorization": "Bearer " + openaiKey, "accept-encoding": "identity"},
				removed: []string{"x-api-key", "x-forwarded-client-cert", "x-workflow-id"}}},
		{"openai: model denied", check{profile: "openai", body: gpt5, headers: llm("/v1/chat/completions", gpt5)},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.type", "permission_error")}},
		{"openai: policy denied", check{profile: "openai", body: []byte(`{"model":"gpt-4o","max_tokens":20000,"messages":[{"role":"user","content":"Review this diff for bugs."}]}`),
			headers: llm("/v1/chat/completions", nil)},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.message", "max_tokens above 16384 is not allowed")}},
		{"anthropic: allowed, key injected, client keys removed", check{profile: "anthropic", body: msgs,
			headers: llm("/v1/messages", msgs, "authorization", "Bearer agent-key", "x-api-key", "agent-key")},
			want{set: map[string]string{"x-api-key": anthropicKey, "anthropic-version": "2023-06-01"}, removed: []string{"authorization"}}},
		{"anthropic: model denied", check{profile: "anthropic", body: opus3, headers: llm("/v1/messages", opus3)},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("type", "error", "error.type", "permission_error")}},
		{"mcp: tools/call allowed, routed", check{profile: "mcp", body: getPR, headers: mcpAs(getPR, "x-agentguard-cluster", "semgrep")},
			want{set: map[string]string{"x-agentguard-cluster": "github", "x-agentguard-agent": "code-reviewer"}}},
		{"mcp: tools/call denied", check{profile: "mcp", body: delRepo, headers: mcpAs(delRepo)},
			want{status: 403, code: codes.PermissionDenied, body: jsonRPCError(-32051, `"del-1"`)}},
		{"mcp: tools/list allowed", check{profile: "mcp", body: list, headers: mcpAs(list)},
			want{set: map[string]string{"x-agentguard-cluster": "github"}}},
		{"mcp: no identity", check{profile: "mcp", body: getPR, headers: bodyHeaders(getPR, "x-mcp-server", "github")},
			want{status: 403, code: codes.Unauthenticated, body: jsonRPCError(-32053, "7")}},
		{"mcp: identity from source.principal", check{profile: "mcp", principal: reviewer, body: getPR,
			headers: bodyHeaders(getPR, "x-mcp-server", "github")},
			want{set: map[string]string{"x-agentguard-agent": "code-reviewer"}}},
		{"mcp: principal outside the trust domain", check{profile: "mcp", principal: "spiffe://evil.example/ns/a/sa/code-reviewer",
			body: getPR, headers: bodyHeaders(getPR, "x-mcp-server", "github")},
			want{status: 403, code: codes.Unauthenticated, body: jsonRPCError(-32053, "7")}},
		{"mcp: a non-SPIFFE principal is no identity", check{profile: "mcp", principal: "CN=code-reviewer,O=acme",
			body: getPR, headers: bodyHeaders(getPR, "x-mcp-server", "github")},
			want{status: 403, code: codes.Unauthenticated, body: bodyHas("error.data.rule", "builtin:no-identity")}},
		{"mcp: oversize body", check{profile: "mcp", body: []byte(`{"jsonrpc":"2.0","id":3,"method":"ping","pad":"` + strings.Repeat("x", 1<<20) + `"}`),
			headers: mcpAs(nil)},
			want{status: 413, code: codes.PermissionDenied, body: jsonRPCError(-32054, "null")}},
		{"mcp: selected by its port when Envoy names no profile", check{port: 9083, body: delRepo, headers: mcpAs(delRepo)},
			want{status: 403, code: codes.PermissionDenied, body: jsonRPCError(-32051, `"del-1"`)}},
		{"context_extensions win over the port", check{profile: "openai", port: 9083, body: chat, headers: llm("/v1/chat/completions", chat)},
			want{set: map[string]string{"authorization": "Bearer " + openaiKey}}},
		{"no profile matches", check{port: 1234, body: getPR, headers: mcpAs(getPR)},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.rule", "builtin:no-profile")}},
		{"unknown profile name is a deployment error, not a fallback", check{profile: "mcp-typo", port: 9083, body: getPR, headers: mcpAs(getPR)},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.message", "unknown profile", "error.rule", "builtin:no-profile")}},
		{"header_map (encode_raw_headers) and the string body", check{profile: "mcp", rawHeaders: true, stringBody: true, body: delRepo, headers: mcpAs(delRepo)},
			want{status: 403, code: codes.PermissionDenied, body: jsonRPCError(-32051, `"del-1"`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.verify(t, f.check(tc.c))
		})
	}
	if !strings.Contains(f.logs.String(), "Envoy named a profile the config does not have") {
		t.Error("an unknown profile name was not logged for the operator")
	}
}
