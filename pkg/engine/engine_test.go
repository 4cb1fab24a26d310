package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agentguard/agentguard/pkg/telemetry"
)

func testEngine(t *testing.T) *Engine {
	t.Helper()
	data, err := os.ReadFile("testdata/engine.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := LoadFile("engine.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return New(rt, Options{Metrics: telemetry.NewMetrics()})
}

func TestProfileSelection(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		name    string
		meta    Meta
		headers Header
		want    string
	}{
		{"named by Envoy wins over matchers", Meta{Profile: "api", DestinationPort: 9083}, Header{}, "api"},
		{"destination port", Meta{DestinationPort: 9083}, Header{}, "tools"},
		{"authority and path prefix", Meta{}, Header{":authority": "API.example.org:443", ":path": "/v1/things"}, "api"},
		{"authority without the path prefix", Meta{}, Header{":authority": "api.example.org", ":path": "/v2/things"}, "fallback"},
		{"a profile without matchers is chosen only by name", Meta{}, Header{":path": "/"}, "fallback"},
		{"unknown name is not replaced by a matcher", Meta{Profile: "nope", DestinationPort: 9083}, Header{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := e.Runtime().selectProfile(&tc.meta, tc.headers)
			got := ""
			if ok {
				got = p.Name
			}
			if got != tc.want {
				t.Errorf("profile %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHTTPProfileDecisions(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		name     string
		meta     Meta
		headers  Header
		decision string
		rule     string
		status   int
	}{
		{"allow rule matches", Meta{Profile: "api"}, Header{":method": "GET", "x-caller": "builder"}, "allow", "builders-only", 0},
		{"no allow rule matches", Meta{Profile: "api"}, Header{":method": "GET", "x-caller": "someone"}, "deny", "builtin:no-allow-rule-matched", 403},
		{"deny beats allow", Meta{Profile: "api"}, Header{":method": "DELETE", "x-caller": "builder"}, "deny", "no-delete", 403},
		{"identity required", Meta{Profile: "api"}, Header{":method": "GET"}, "deny", "builtin:no-identity", 403},
		{"invalid claimed name", Meta{Profile: "api"}, Header{":method": "GET", "x-caller": "a b"}, "deny", "builtin:bad-identity", 403},
		{"no profile", Meta{Profile: "missing"}, Header{":method": "GET"}, "deny", "builtin:no-profile", 403},
		// A rule the request makes fail denies, even where failure_mode is
		// open: a client must not pass a rule by breaking it.
		{"rule error denies even when failing open", Meta{Profile: "open"}, Header{":method": "GET", "x-boom": "1", "x-zero": "0"}, "deny", "boom", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := e.Evaluate(context.Background(), tc.meta, tc.headers, nil)
			if out.Decision != tc.decision || out.Rule != tc.rule || out.Status != tc.status {
				t.Errorf("got %s/%q/%d, want %s/%q/%d (%s)", out.Decision, out.Rule, out.Status, tc.decision, tc.rule, tc.status, out.Reason)
			}
			if out.Reply != nil && !strings.HasPrefix(string(out.Reply.Body), `{"error":{"code":`) {
				t.Errorf("reply body %s", out.Reply.Body)
			}
		})
	}
	if got := testutil.ToFloat64(e.metrics.PolicyErrors.WithLabelValues("open", "boom")); got != 1 {
		t.Errorf("policy error not counted: %v", got)
	}
}

// failure_mode open lets a request pass when agentguard itself fails (here:
// Envoy's messages out of order), and counts it.
func TestFailOpen(t *testing.T) {
	e := testEngine(t)
	x := e.Start(context.Background(), Meta{Profile: "open"})
	h := Header{":method": "POST", ":path": "/", "x-boom": "0"}
	if r := x.RequestHeaders(h, false); r.Reply != nil {
		t.Fatalf("denied: %s", r.Reply.Body)
	}
	if r := x.RequestHeaders(h, false); r.Reply != nil {
		t.Fatalf("failed closed on a fail-open profile: %+v", r.Reply)
	}
	x.Finish("")
	if got := testutil.ToFloat64(e.metrics.Failures.WithLabelValues("open", "open")); got != 1 {
		t.Errorf("fail-open not counted: %v", got)
	}
	if !x.rec.FailedOpen {
		t.Error("audit record does not say it failed open")
	}
}

func TestPathNormalization(t *testing.T) {
	for _, p := range []string{"/webhook/../admin", "/webhook//x", "/a/./b", "/a/%2e%2e/b", "/a%2Fb", "/a\\b", "relative", "/a/.."} {
		if normalizedPath(p) {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range []string{"/", "/webhook", "/webhook/github?x=/../", "/v1/messages", "*", "", "/a.b/c..d/...", "/%41"} {
		if !normalizedPath(p) {
			t.Errorf("%q refused", p)
		}
	}
	e := testEngine(t)
	out := e.Evaluate(context.Background(), Meta{Profile: "fallback"}, Header{":method": "GET", ":path": "/webhook/../admin"}, nil)
	if out.Decision != "deny" || out.Rule != "builtin:path-not-normalized" || out.Status != 400 {
		t.Errorf("%+v", out)
	}
}

func TestPeerCertificateIdentity(t *testing.T) {
	e := testEngine(t)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`)
	h := Header{":method": "POST", "x-mcp-server": "git"}
	out := e.Evaluate(context.Background(), Meta{Profile: "tools", PeerURISANs: []string{"spiffe://example.org/ns/ci/sa/builder"}}, h, body)
	if out.Decision != "allow" || out.Rule != "ci-git" {
		t.Fatalf("peer SAN identity: %+v", out)
	}
	// A SPIFFE ID outside the trust domain is refused, not downgraded.
	out = e.Evaluate(context.Background(), Meta{Profile: "tools", PeerURISANs: []string{"spiffe://evil.org/ns/ci/sa/builder"}}, h, body)
	if out.Decision != "deny" || out.Rule != "builtin:bad-identity" {
		t.Fatalf("foreign trust domain: %+v", out)
	}
}

func TestBodyModes(t *testing.T) {
	e := testEngine(t)
	h := func() Header {
		return Header{":method": "POST", "x-mcp-server": "git", "x-forwarded-client-cert": "URI=spiffe://example.org/ns/ci/sa/builder"}
	}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`)

	// BUFFERED_PARTIAL: a body cut short at Envoy's limit is refused, since
	// its rest would pass unread.
	x := e.Start(context.Background(), Meta{Profile: "tools", RequestBodyMode: BodyBufferedPartial})
	x.RequestHeaders(h(), false)
	if r := x.RequestBody(body[:10], false); r.Reply == nil || r.Reply.Status != 413 {
		t.Errorf("partial body: %+v", r)
	}
	x.Finish("")

	// FULL_DUPLEX_STREAMED is not spoken: fail closed.
	x = e.Start(context.Background(), Meta{Profile: "tools", RequestBodyMode: BodyFullDuplex})
	x.RequestHeaders(h(), false)
	if r := x.RequestBody(body, true); r.Reply == nil || r.Reply.Status != 500 {
		t.Errorf("full duplex: %+v", r)
	}
	x.Finish("")

	// Streamed body ended by trailers after chunks were withheld: cannot
	// be re-sent, so it fails closed.
	x = e.Start(context.Background(), Meta{Profile: "tools", RequestBodyMode: BodyStreamed})
	x.RequestHeaders(h(), false)
	x.RequestBody(body, false)
	if r := x.RequestTrailers(); r.Reply == nil || r.Reply.Status != 500 {
		t.Errorf("trailers after withheld body: %+v", r)
	}
	x.Finish("")

	// Buffered body followed by trailers: decided at the body message.
	x = e.Start(context.Background(), Meta{Profile: "tools", RequestBodyMode: BodyBuffered})
	x.RequestHeaders(h(), false)
	if r := x.RequestBody(body, false); r.Reply != nil {
		t.Errorf("buffered body with trailers denied: %s", r.Reply.Body)
	}
	if r := x.RequestTrailers(); r.Reply != nil {
		t.Errorf("trailers: %+v", r)
	}
	x.Finish("")
}

// A reload swaps the Runtime for new exchanges only; one in flight keeps
// the rules it started with.
func TestReloadDoesNotChangeAnExchangeInFlight(t *testing.T) {
	e := testEngine(t)
	x := e.Start(context.Background(), Meta{Profile: "tools", RequestBodyMode: BodyBuffered})
	x.RequestHeaders(Header{":method": "POST", "x-mcp-server": "git", "x-forwarded-client-cert": "URI=spiffe://example.org/ns/ci/sa/builder"}, false)
	data, _ := os.ReadFile("testdata/engine.yaml")
	stricter := strings.Replace(string(data), `allow: ["read_*"]`, `allow: ["list_*"]`, 1)
	rt, err := LoadFile("engine.yaml", []byte(stricter))
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(rt)
	r := x.RequestBody([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"}}`), true)
	if r.Reply != nil {
		t.Errorf("in-flight exchange used the new config: %s", r.Reply.Body)
	}
	x.Finish("")
	out := e.Evaluate(context.Background(), Meta{Profile: "tools", PeerURISANs: []string{"spiffe://example.org/ns/ci/sa/builder"}},
		Header{":method": "POST", "x-mcp-server": "git"}, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"}}`))
	if out.Decision != "deny" {
		t.Errorf("new exchange did not use the new config: %+v", out)
	}
}

// With failure_mode open, a rule the request makes fail must not wave
// through the batch it is in, nor a call another message already denied.
func TestFailOpenDoesNotForgiveDenials(t *testing.T) {
	e := testEngine(t)
	h := Header{":method": "POST", ":path": "/mcp", "x-agent-id": "someone", "x-mcp-server": "git"}
	cases := map[string]string{
		"denied call then a failing rule": `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo"}},` +
			`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":1}}}]`,
		"failing rule alone":  `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`,
		"failing rule before": `[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":true}}},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_x"}}]`,
	}
	for name, body := range cases {
		out := e.Evaluate(context.Background(), Meta{Profile: "tools-open"}, h, []byte(body))
		if out.Decision != "deny" {
			t.Errorf("%s: %+v", name, out)
		}
	}
	out := e.Evaluate(context.Background(), Meta{Profile: "tools-open"}, h,
		[]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/src"}}}`))
	if out.Decision != "allow" {
		t.Errorf("allowed call denied: %+v", out)
	}
}

// Response rules see llm.usage once the provider reports it; a violation is
// recorded and counted, the answer having passed.
func TestResponseRules(t *testing.T) {
	e, audit := llmEngine(t)
	run := func(output int) *Exchange {
		x := e.Start(context.Background(), Meta{Profile: "openai", RequestBodyMode: BodyBuffered})
		x.RequestHeaders(Header{":method": "POST", ":path": "/v1/chat/completions", "x-agent-id": "reviewer"}, false)
		if r := x.RequestBody([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`), true); r.Reply != nil {
			t.Fatalf("denied: %s", r.Reply.Body)
		}
		x.ResponseHeaders(Header{":status": "200", "content-type": "application/json"}, false)
		body := fmt.Sprintf(`{"id":"c","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":%d}}`, output, output+10)
		if r := x.ResponseBody([]byte(body), true); r.Reply != nil || r.BodySet {
			t.Fatal("a response rule changed the answer")
		}
		x.Finish("")
		return x
	}
	if x := run(50); x.rec.LLM.ResponseRule != "" {
		t.Errorf("short answer flagged: %s", x.rec.LLM.ResponseRule)
	}
	if x := run(5000); x.rec.LLM.ResponseRule != "long-answers" {
		t.Errorf("long answer not flagged: %+v", x.rec.LLM)
	}
	if got := testutil.ToFloat64(e.metrics.RuleViolations.WithLabelValues("openai", "long-answers")); got != 1 {
		t.Errorf("violations counted %v", got)
	}
	if !strings.Contains(audit.String(), `"response_rule":"long-answers"`) {
		t.Errorf("audit lacks the violation: %s", audit.String())
	}
}
