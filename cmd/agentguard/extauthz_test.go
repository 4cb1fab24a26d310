package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/policies"
)

// checkCall is one ext_authz Check as Envoy's HTTP filter sends it: the
// profile in context_extensions, the headers with pseudo-headers, the body
// in raw_body (pack_as_bytes), x-envoy-auth-partial-body.
func checkCall(t *testing.T, gc string, p *process, profile string, headers map[string]string, body string) map[string]any {
	t.Helper()
	hs := map[string]string{":method": "POST", ":scheme": "http", "content-type": "application/json",
		"content-length": fmt.Sprint(len(body)), "x-envoy-auth-partial-body": "false"}
	for k, v := range headers {
		hs[k] = v
	}
	req := map[string]any{"attributes": map[string]any{
		"request": map[string]any{"http": map[string]any{
			"method": hs[":method"], "path": hs[":path"], "host": hs[":authority"], "scheme": "http",
			"headers": hs, "raw_body": base64.StdEncoding.EncodeToString([]byte(body)),
		}},
		"context_extensions": map[string]string{"profile": profile},
	}}
	in, _ := json.Marshal(req)
	out := grpcurl(t, gc, p, string(in), []string{"-d", "@"}, "envoy.service.auth.v3.Authorization/Check")
	var resp map[string]any
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("grpcurl output is not JSON: %v\n%s", err, out)
	}
	return resp
}

func TestExtAuthzWithGrpcurl(t *testing.T) {
	gc := grpcurlPath(t)
	bin := buildBinary(t)
	cfg := filepath.Join(t.TempDir(), "agentguard.yaml")
	if err := os.WriteFile(cfg, policies.CodeReview, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, bin, "--config", cfg)
	if list := grpcurl(t, gc, p, "", nil, "list"); !strings.Contains(list, "envoy.service.auth.v3.Authorization") {
		t.Fatalf("reflection lacks the Authorization service:\n%s", list)
	}
	if out := grpcurl(t, gc, p, `{"service":"envoy.service.auth.v3.Authorization"}`, []string{"-d", "@"}, "grpc.health.v1.Health/Check"); !strings.Contains(out, "SERVING") {
		t.Errorf("health: %s", out)
	}

	mcp := map[string]string{":path": "/mcp", ":authority": "mcp.local", "x-agent-id": "code-reviewer", "x-mcp-server": "github"}
	call := func(tool string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"owner":"acme","repo":"w"}}}`, tool)
	}
	allowed := checkCall(t, gc, p, "mcp", mcp, call("get_pull_request"))
	ok, _ := allowed["okResponse"].(map[string]any)
	if ok == nil || !strings.Contains(fmt.Sprint(ok["headers"]), "key:x-agentguard-cluster") || !strings.Contains(fmt.Sprint(ok["headers"]), "value:github") {
		t.Errorf("allowed call answered: %v", allowed)
	}
	denied := checkCall(t, gc, p, "mcp", mcp, call("delete_repository"))
	d, _ := denied["deniedResponse"].(map[string]any)
	if d == nil || fmt.Sprint(d["status"]) != "map[code:Forbidden]" || !strings.Contains(fmt.Sprint(d["body"]), `"code":-32051`) {
		t.Fatalf("denied call answered: %v", denied)
	}
	if st, _ := denied["status"].(map[string]any); st == nil || st["code"] != float64(7) { // PERMISSION_DENIED
		t.Errorf("gRPC status %v", denied["status"])
	}

	// The provider key reaches Envoy in the OK answer, and nowhere else.
	llm := checkCall(t, gc, p, "openai", map[string]string{":path": "/v1/chat/completions", ":authority": "api.openai.com",
		"x-agent-id": "code-reviewer", "authorization": "Bearer agent-key"}, `{"model":"gpt-4o","messages":[{"role":"user","content":"Review this diff for bugs."}]}`)
	if !strings.Contains(fmt.Sprint(llm["okResponse"]), "Bearer "+binOpenAIKey) {
		t.Errorf("provider key not injected: %v", llm)
	}

	// Denials the waypoint's filter settings can cause, each in the
	// client's protocol: a body Envoy cut (partial), one over the
	// profile's max_body_bytes, and no identity at all.
	refusals := []struct {
		name    string
		headers map[string]string
		body    string
		status  string
		in      string
	}{
		{"partial body", map[string]string{"x-envoy-auth-partial-body": "true"}, call("get_pull_request")[:40], "PayloadTooLarge", `"code":-32054`},
		{"oversize body", nil, fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_pull_request","arguments":{"pad":%q}}}`, strings.Repeat("x", 1<<20)), "PayloadTooLarge", `"code":-32054`},
		{"no identity", map[string]string{"x-agent-id": ""}, call("get_pull_request"), "Forbidden", `"code":-32053`},
	}
	for _, r := range refusals {
		hs := map[string]string{}
		for k, v := range mcp {
			hs[k] = v
		}
		for k, v := range r.headers {
			hs[k] = v
		}
		if hs["x-agent-id"] == "" {
			delete(hs, "x-agent-id")
		}
		out := checkCall(t, gc, p, "mcp", hs, r.body)
		d, _ := out["deniedResponse"].(map[string]any)
		if d == nil || fmt.Sprint(d["status"]) != "map[code:"+r.status+"]" || !strings.Contains(fmt.Sprint(d["body"]), r.in) {
			t.Errorf("%s: answered %.300v", r.name, out)
		}
	}

	_, metrics := p.get(t, "metrics", "/metrics")
	if v := metricValue(t, metrics, `agentguard_requests_total{agent="code-reviewer",decision="deny",profile="mcp"}`); v != "3" { // delete_repository, partial, oversize
		t.Errorf("deny counter %q", v)
	}
	for where, text := range map[string]string{"metrics": metrics, "audit": p.stdout.String(), "logs": p.stderr.String()} {
		if strings.Contains(text, "KEYSECRET") {
			t.Errorf("a provider key is in the %s", where)
		}
	}
	if n := strings.Count(p.stdout.String(), `"profile":"mcp"`); n != 5 {
		t.Errorf("%d mcp audit records, want 5:\n%s", n, p.stdout.String())
	}
}

// A profile that does not trust XFCC ignores one a client forged, and
// takes the identity Envoy saw on the connection (source.principal).
func TestExtAuthzSpoofedXFCCWithGrpcurl(t *testing.T) {
	gc := grpcurlPath(t)
	p := start(t, buildBinary(t), "--config", "testdata/extauthz-peer-only.yaml")
	check := func(headers map[string]string, principal string) map[string]any {
		hs := map[string]string{":method": "GET", ":path": "/status", ":authority": "api.local", ":scheme": "http"}
		for k, v := range headers {
			hs[k] = v
		}
		attrs := map[string]any{
			"request":            map[string]any{"http": map[string]any{"method": "GET", "path": "/status", "host": "api.local", "headers": hs}},
			"context_extensions": map[string]string{"profile": "peer-only"},
		}
		if principal != "" {
			attrs["source"] = map[string]any{"principal": principal}
		}
		in, _ := json.Marshal(map[string]any{"attributes": attrs})
		var resp map[string]any
		out := grpcurl(t, gc, p, string(in), []string{"-d", "@"}, "envoy.service.auth.v3.Authorization/Check")
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return resp
	}
	forged := check(map[string]string{"x-forwarded-client-cert": "By=spiffe://cluster.local/ns/x/sa/waypoint;URI=spiffe://cluster.local/ns/agents/sa/code-reviewer"}, "")
	if d, _ := forged["deniedResponse"].(map[string]any); d == nil || !strings.Contains(fmt.Sprint(d["body"]), "builtin:no-identity") {
		t.Errorf("forged XFCC: %.300v", forged)
	}
	peer := check(nil, "spiffe://cluster.local/ns/agents/sa/code-reviewer")
	if peer["okResponse"] == nil {
		t.Errorf("source.principal: %.300v", peer)
	}
	if !strings.Contains(p.stdout.String(), `"agent":"code-reviewer"`) || !strings.Contains(p.stdout.String(), `"identity_source":"peer"`) {
		t.Errorf("audit:\n%s", p.stdout.String())
	}
}
