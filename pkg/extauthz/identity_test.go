package extauthz

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

const builder = "spiffe://example.org/ns/ci/sa/builder"

// Identity comes from the profile's sources, in its order: XFCC only where
// the profile trusts it, source.principal as the peer certificate.
func TestIdentitySources(t *testing.T) {
	def := newFakeEnvoy(t, nil)
	own := newFakeEnvoy(t, readTestdata(t, "extauthz.yaml"))
	readCall := []byte(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`)
	tools := func(kv ...string) map[string]string {
		return bodyHeaders(readCall, append([]string{"x-mcp-server", "git"}, kv...)...)
	}
	triage := "spiffe://cluster.local/ns/agents/sa/triage-bot"
	cases := []struct {
		name string
		f    *fakeEnvoy
		c    check
		want want
	}{
		{"spoofed XFCC on a profile that trusts only the peer: no identity", own,
			check{profile: "tools", body: readCall, headers: tools("x-forwarded-client-cert", xfcc(builder))},
			want{status: 403, code: codes.Unauthenticated, body: jsonRPCError(-32053, "4")}},
		{"spoofed XFCC is ignored, the principal decides", own,
			check{profile: "tools", principal: builder, body: readCall,
				headers: tools("x-forwarded-client-cert", xfcc("spiffe://example.org/ns/x/sa/other"))},
			want{set: map[string]string{"x-agentguard-agent": "builder", "x-agentguard-cluster": "mcp-git"}}},
		{"XFCC naming builder does not lift another workload's principal", own,
			check{profile: "tools", principal: "spiffe://example.org/ns/x/sa/other", body: readCall,
				headers: tools("x-forwarded-client-cert", xfcc(builder))},
			want{status: 403, code: codes.PermissionDenied, body: jsonRPCError(-32051, "4")}},
		{"a trusted XFCC comes before the principal", def,
			check{profile: "mcp", principal: triage, body: readTestdata(t, "tools_call_get_pr.json"),
				headers: bodyHeaders(nil, "x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer))},
			want{set: map[string]string{"x-agentguard-agent": "code-reviewer"}}},
		{"a malformed trusted XFCC is not downgraded to the principal", def,
			check{profile: "mcp", principal: reviewer, body: readTestdata(t, "tools_call_get_pr.json"),
				headers: bodyHeaders(nil, "x-mcp-server", "github", "x-forwarded-client-cert", `URI="broken`)},
			want{status: 403, code: codes.Unauthenticated, body: jsonRPCError(-32053, "7")}},
		{"an upper-case scheme in the principal is refused, not ignored", own,
			check{profile: "tools", principal: "SPIFFE://example.org/ns/ci/sa/builder", body: readCall, headers: tools()},
			want{status: 403, code: codes.Unauthenticated, body: jsonRPCError(-32053, "4")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.verify(t, tc.f.check(tc.c))
		})
	}
}

// The profile: context_extensions, then Envoy's gRPC metadata, then the
// matchers (authority, path, destination port); never a client header.
func TestProfileSelection(t *testing.T) {
	own := newFakeEnvoy(t, readTestdata(t, "extauthz.yaml"))
	readCall := []byte(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`)
	api := bodyHeaders(nil, ":method", "GET", ":authority", "api.example.org:443", ":path", "/v1/items", "x-caller", "builder")
	cases := []struct {
		name, profile string
		c             check
	}{
		{"authority and path matchers", "api", check{headers: api}},
		{"destination port matcher", "tools", check{port: 9083, principal: builder, body: readCall, headers: bodyHeaders(readCall, "x-mcp-server", "git")}},
		{"context_extensions over the matchers", "tools-open",
			check{profile: "tools-open", port: 9083, body: readCall, headers: bodyHeaders(readCall, "x-mcp-server", "git", "x-agent-id", "anyone")}},
		{"gRPC metadata when no context extension names one", "tools-open",
			check{mdProfile: "tools-open", port: 9083, body: readCall, headers: bodyHeaders(readCall, "x-mcp-server", "git", "x-agent-id", "anyone")}},
		{"context_extensions over gRPC metadata", "api", check{profile: "api", mdProfile: "tools", headers: api}},
		{"a client header naming a profile is only a header", "api",
			check{headers: bodyHeaders(nil, ":method", "GET", ":authority", "api.example.org", ":path", "/v1/x", "x-caller", "builder", ProfileMetadataKey, "tools-open")}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "sel-" + string(rune('a'+i))
			tc.c.headers["x-request-id"] = id
			a := own.check(tc.c)
			if !a.allowed {
				t.Fatalf("denied %d: %s", a.status, a.body)
			}
			lines := own.auditLines(id)
			if len(lines) != 1 || !strings.Contains(lines[0], `"profile":"`+tc.profile+`"`) {
				t.Errorf("want profile %s, audit %v", tc.profile, lines)
			}
		})
	}
}
