package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestLimitRejections: the request one past a limit is refused 429 in
// the client's protocol, with exact headers.
func TestLimitRejections(t *testing.T) {
	batch := exchange{profile: "mcp", path: "/mcp", headers: Header{"x-mcp-server": "github"},
		body: `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","method":"notifications/progress"},{"jsonrpc":"2.0","id":"b","method":"tools/list"}]`}
	cases := []struct {
		name    string
		warm    []exchange
		last    exchange
		status  int
		headers map[string]string // "" means absent
		body    map[string]string // gjson path → value
		message string
	}{
		{
			name: "mcp: the 4th call of the minute, its id echoed",
			warm: []exchange{mcpCall("1", "github"), mcpCall("2", "github"), mcpCall("3", "github")},
			last: mcpCall(`"abc"`, "github"), status: 429,
			headers: map[string]string{"retry-after": "20", "x-ratelimit-limit": "3", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"},
			body:    map[string]string{"jsonrpc": "2.0", "id": "abc", "error.code": "-32052", "error.data.rule": "limit:calls", "error.data.retry_after": "20"},
			message: "limit calls (3 requests per 1m) reached; retry after 20s",
		},
		{
			name: "mcp batch: all or nothing, every request answered",
			warm: []exchange{mcpCall("1", "github")},
			last: batch, status: 429,
			headers: map[string]string{"retry-after": "20", "x-ratelimit-limit": "3", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "20"},
			body:    map[string]string{"#": "2", "0.id": "1", "0.error.code": "-32052", "1.id": "b", "1.error.data.rule": "limit:calls"},
		},
		{
			name: "openai: requests",
			warm: []exchange{openaiChat(100), openaiChat(100)},
			last: openaiChat(100), status: 429,
			headers: map[string]string{"retry-after": "30", "x-ratelimit-limit": "2", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"},
			body:    map[string]string{"error.type": "requests", "error.code": "rate_limit_exceeded", "error.param": ""},
			message: "limit requests (2 requests per 1m) reached; retry after 30s",
		},
		{
			name: "openai: a request larger than the token limit never fits",
			last: openaiChat(5000), status: 429,
			headers: map[string]string{"retry-after": "", "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "1000", "x-ratelimit-reset": "0"},
			body:    map[string]string{"error.type": "tokens", "error.code": "rate_limit_exceeded"},
			message: "this request alone exceeds limit tokens (1000 total_tokens per 1m); it can never be admitted",
		},
		{
			name: "http: keyed by a header",
			warm: []exchange{{profile: "tenants", path: "/", headers: Header{"x-tenant": "acme"}}},
			last: exchange{profile: "tenants", path: "/", headers: Header{"x-tenant": "acme"}}, status: 429,
			headers: map[string]string{"retry-after": "3600", "x-ratelimit-limit": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3600"},
			body:    map[string]string{"error.code": "rate_limited", "error.rule": "limit:per-tenant"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := limitsEngine(t, &testClock{t: limitsEpoch}, nil)
			mustPass(t, e, tc.warm...)
			r := limitReply(t, e, tc.last)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			for name, want := range tc.headers {
				if got := findHeader(r.Headers, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if got := findHeader(r.Headers, "content-type"); got != "application/json" {
				t.Errorf("content-type %q", got)
			}
			for path, want := range tc.body {
				if got := gjson.GetBytes(r.Body, path).String(); got != want {
					t.Errorf("body %s = %q, want %q in %s", path, got, want, r.Body)
				}
			}
			if tc.message != "" && !bytes.Contains(r.Body, []byte(tc.message)) {
				t.Errorf("body %s lacks %q", r.Body, tc.message)
			}
			if r.Details != "agentguard_rate_limited" {
				t.Errorf("details %q", r.Details)
			}
		})
	}
}

// TestLimitAnthropicShape: Anthropic's error envelope and type.
func TestLimitAnthropicShape(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, _ := limitsEngine(t, clk, nil)
	r := limitReply(t, e, anthropicReview(100000)) // 1.5 USD of output: more than the day's budget
	if r.Status != 429 || gjson.GetBytes(r.Body, "type").Str != "error" || gjson.GetBytes(r.Body, "error.type").Str != "rate_limit_error" ||
		!strings.Contains(gjson.GetBytes(r.Body, "error.message").Str, "budget (1 cost_usd per day)") {
		t.Errorf("%d %s", r.Status, r.Body)
	}
}
