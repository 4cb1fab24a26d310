package extauthz

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tidwall/gjson"
	"google.golang.org/grpc/codes"

	"github.com/agentguard/agentguard/pkg/engine"
)

// A body Envoy cut at max_request_bytes (allow_partial_message): 413 in the
// client's protocol, unless the profile decides on headers alone.
func TestPartialBody(t *testing.T) {
	def := newFakeEnvoy(t, nil)
	own := newFakeEnvoy(t, readTestdata(t, "extauthz.yaml"))
	cut := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_pull_req`)
	reviewerMCP := bodyHeaders(nil, "x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer))
	llm := func(path string) map[string]string {
		return bodyHeaders(nil, ":path", path, "x-forwarded-client-cert", xfcc(reviewer))
	}
	cases := []struct {
		name string
		f    *fakeEnvoy
		c    check
		want want
	}{
		{"mcp: JSON-RPC 413, null id (a cut body has none to read)", def,
			check{profile: "mcp", partial: true, body: cut, headers: reviewerMCP},
			want{status: 413, code: codes.PermissionDenied, body: jsonRPCError(-32054, "null")}},
		{"mcp: 413 even without identity", def,
			check{profile: "mcp", partial: true, body: cut, headers: bodyHeaders(nil, "x-mcp-server", "github")},
			want{status: 413, code: codes.PermissionDenied, body: jsonRPCError(-32054, "null")}},
		{"openai: provider shape", def, check{profile: "openai", partial: true, body: []byte(`{"model":"gpt-4o","messages":[`), headers: llm("/v1/chat/completions")},
			want{status: 413, code: codes.PermissionDenied, body: bodyHas("error.code", "request_too_large")}},
		{"anthropic: provider shape", def, check{profile: "anthropic", partial: true, body: []byte(`{"model":"claude`), headers: llm("/v1/messages")},
			want{status: 413, code: codes.PermissionDenied, body: bodyHas("type", "error", "error.type", "request_too_large")}},
		{"webhook delivery", def, check{profile: "orchestrator", partial: true, body: []byte(`{"action":`),
			headers: bodyHeaders(nil, ":path", "/webhook/github", "x-hub-signature-256", sign([]byte(`{"action":`)))},
			want{status: 413, code: codes.PermissionDenied, body: bodyHas("error.code", "request_too_large")}},
		{"http, partial_body deny (default)", own, check{partial: true, body: []byte("abc"),
			headers: bodyHeaders(nil, ":authority", "strict.example.org", "x-caller", "builder")},
			want{status: 413, code: codes.PermissionDenied, body: bodyHas("error.code", "request_too_large", "error.rule", "builtin:body-too-large")}},
		{"http, partial_body headers: decided on the headers", own, check{partial: true, body: []byte("abc"),
			headers: bodyHeaders(nil, ":authority", "api.example.org", ":path", "/v1/items", "x-caller", "builder")},
			want{}},
		{"http, partial_body headers: the headers still decide", own, check{partial: true, body: []byte("abc"),
			headers: bodyHeaders(nil, ":authority", "api.example.org", ":path", "/v1/items", "x-caller", "intruder")},
			want{status: 403, code: codes.PermissionDenied, body: bodyHas("error.rule", "builders-only")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.verify(t, tc.f.check(tc.c))
		})
	}
}

// Envoy without with_request_body sends no body: a profile that reads it
// must not pass the request unread, and the operator must learn why.
func TestBodyNotSent(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	own := newFakeEnvoy(t, readTestdata(t, "extauthz.yaml"))
	getPR := readTestdata(t, "tools_call_get_pr.json")
	mcpHdr := bodyHeaders(getPR, "x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer), "x-request-id", "nobody-1")
	mentionsFilter := func(t *testing.T, body string) {
		t.Helper()
		if !strings.Contains(body, "ext_authz filter must send it (with_request_body)") {
			t.Errorf("the error does not say what to configure: %s", body)
		}
	}
	t.Run("mcp", func(t *testing.T) {
		a := f.check(check{profile: "mcp", headers: mcpHdr})
		want{status: 500, code: codes.Unavailable, body: func(t *testing.T, b string) {
			jsonRPCError(-32055, "null")(t, b)
			mentionsFilter(t, gjson.Get(b, "error.message").String())
		}}.verify(t, a)
		if got := testutil.ToFloat64(f.metrics.Failures.WithLabelValues("mcp", "closed")); got != 1 {
			t.Errorf("failures metric %v, want 1", got)
		}
		lines := f.auditLines("nobody-1")
		if len(lines) != 1 || !strings.Contains(lines[0], `"decision":"error"`) || !strings.Contains(lines[0], `"rule":"builtin:body-not-sent"`) {
			t.Errorf("audit %v", lines)
		}
		if !strings.Contains(f.logs.String(), "with_request_body") {
			t.Error("the log does not tell the operator what to configure")
		}
	})
	t.Run("chunked request", func(t *testing.T) {
		h := bodyHeaders(nil, ":path", "/v1/chat/completions", "x-forwarded-client-cert", xfcc(reviewer), "transfer-encoding", "chunked")
		want{status: 500, code: codes.Unavailable, body: func(t *testing.T, b string) {
			mentionsFilter(t, gjson.Get(b, "error.message").String())
		}}.verify(t, f.check(check{profile: "openai", headers: h}))
	})
	t.Run("a profile that decides on headers does not need it", func(t *testing.T) {
		h := bodyHeaders([]byte("abc"), ":authority", "api.example.org", ":path", "/v1/items", "x-caller", "builder")
		want{}.verify(t, own.check(check{headers: h}))
	})
	t.Run("undeclared body (HTTP/2 without content-length) is still not passed", func(t *testing.T) {
		h := bodyHeaders(nil, "x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer))
		want{status: 400, code: codes.PermissionDenied, body: jsonRPCError(-32600, "null")}.verify(t, f.check(check{profile: "mcp", headers: h}))
	})
	t.Run("GET has no body", func(t *testing.T) {
		h := map[string]string{":method": "GET", "x-mcp-server": "github", "x-forwarded-client-cert": xfcc(reviewer)}
		want{set: map[string]string{"x-agentguard-cluster": "github"}}.verify(t, f.check(check{profile: "mcp", headers: h}))
	})
}

// include_usage is added to an OpenAI stream under ext_proc so usage can be
// read from the answer; ext_authz never sees the answer and cannot rewrite
// the body, so the request goes as the client sent it.
func TestStreamUsageRewriteDropped(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	body := readTestdata(t, "openai_stream.json")
	a := f.check(check{profile: "openai", body: body,
		headers: bodyHeaders(body, ":path", "/v1/chat/completions", "x-forwarded-client-cert", xfcc(reviewer), "x-request-id", "stream-1")})
	want{set: map[string]string{"authorization": "Bearer " + openaiKey}}.verify(t, a)
	if _, ok := a.set["content-length"]; ok {
		t.Error("content-length set for a body that is not rewritten")
	}
	lines := f.auditLines("stream-1")
	if len(lines) != 1 || !strings.Contains(lines[0], `"stream":true`) || !strings.Contains(lines[0], `"decision":"allow"`) ||
		!strings.Contains(lines[0], `"usage_missing":true`) {
		t.Errorf("audit %v", lines)
	}
}

// A provider key that cannot travel in a proto string is refused, not
// mangled: the request fails closed and the log names only the header.
func TestNonUTF8HeaderValueRefused(t *testing.T) {
	setSecrets(t)
	t.Setenv("OPENAI_API_KEY", "sk-\xffKEYSECRET")
	f := startFakeEnvoy(t, nil)
	body := readTestdata(t, "openai_chat.json")
	a := f.check(check{profile: "openai", body: body, headers: bodyHeaders(body, ":path", "/v1/chat/completions", "x-forwarded-client-cert", xfcc(reviewer))})
	if a.allowed || a.status != 500 {
		t.Fatalf("want a 500 denial, got %+v", a)
	}
	if !strings.Contains(f.logs.String(), `"profile":"openai","header":"authorization"`) || strings.Contains(f.logs.String(), "KEYSECRET") {
		t.Errorf("log: %s", f.logs.String())
	}
}

// A profile that redacts prompts rewrites the request body; ext_authz
// cannot forward the rewrite, and forwarding the original would hand the
// secret to the provider: the request is refused, whatever the failure
// mode (this profile's is open).
func TestRedactionCannotBeCarried(t *testing.T) {
	f := newFakeEnvoy(t, readTestdata(t, "redact.yaml"))
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"deploy with ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d please"}]}`)
	h := bodyHeaders(body, ":path", "/v1/chat/completions", "x-request-id", "redact-1")
	// What ext_proc would be told: is the body rewritten at all?
	x := f.server.engine.Start(context.Background(), engine.Meta{Profile: "openai", RequestBodyMode: engine.BodyBuffered})
	eh := engine.Header{":method": "POST"}
	for k, v := range h {
		eh[k] = v
	}
	x.RequestHeaders(eh, false)
	rewritten := x.RequestBody(body, true).BodySet
	x.Finish("")
	if !rewritten {
		t.Skip("this engine does not redact prompts: nothing to rewrite")
	}
	a := f.check(check{profile: "openai", body: body, headers: h})
	want{status: 500, code: codes.Unavailable, body: bodyHas("error.type", "server_error")}.verify(t, a)
	if l := f.auditLines("redact-1"); len(l) != 2 || !strings.Contains(l[1], `"rule":"builtin:body-rewrite"`) {
		t.Errorf("audit %v", l) // the probe's record, then the Check's
	}
	if strings.Contains(f.logs.String()+f.audit.String()+a.body, "ghp_u8jz") {
		t.Error("the secret leaked")
	}
}
