package engine

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/limits"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// limitsEngine serves testdata/limits.yaml on clk, counting in store (a
// Memory on clk when nil).
func limitsEngine(t *testing.T, clk *testClock, store LimitStore) (*Engine, *bytes.Buffer) {
	t.Helper()
	t.Setenv("AGENTGUARD_TEST_OPENAI_KEY", "sk-test-openai")
	t.Setenv("AGENTGUARD_TEST_ANTHROPIC_KEY", "sk-ant-test")
	data, err := os.ReadFile("testdata/limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := LoadFile("limits.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var audit, logs bytes.Buffer
	e := New(rt, Options{Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(&audit), Log: testLogger(&logs),
		Now: clk.Now, Limits: store})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return e, &audit
}

var limitsEpoch = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func mcpCall(id string, server string) exchange {
	return exchange{profile: "mcp", path: "/mcp", headers: Header{"x-mcp-server": server},
		body: `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"scan","arguments":{}}}`}
}

func openaiChat(maxTokens int) exchange {
	return exchange{profile: "openai", path: "/v1/chat/completions",
		body: fmt.Sprintf(`{"model":"gpt-4o","max_tokens":%d,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, maxTokens)}
}

// limitReply runs c, which must be refused by a limit, and returns the reply.
func limitReply(t *testing.T, e *Engine, c exchange) *Reply {
	t.Helper()
	o := c.run(t, e)
	if o.reply == nil {
		t.Fatalf("%s: admitted, want refused", c.profile)
	}
	return o.reply
}

func mustPass(t *testing.T, e *Engine, cs ...exchange) {
	t.Helper()
	for i, c := range cs {
		if o := c.run(t, e); o.reply != nil {
			t.Fatalf("request %d to %s refused: %d %s", i, c.profile, o.reply.Status, o.reply.Body)
		}
	}
}

// TestLimitRefill: the limit+1st request is refused until exactly the
// moment one unit has refilled, on the injected clock.
func TestLimitRefill(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, _ := limitsEngine(t, clk, nil)
	mustPass(t, e, mcpCall("1", "github"), mcpCall("2", "github"), mcpCall("3", "github"))
	if r := limitReply(t, e, mcpCall("4", "github")); findHeader(r.Headers, "retry-after") != "20" {
		t.Fatalf("retry-after %q", findHeader(r.Headers, "retry-after"))
	}
	clk.Add(20*time.Second - time.Nanosecond)
	if r := limitReply(t, e, mcpCall("5", "github")); findHeader(r.Headers, "retry-after") != "1" {
		t.Fatalf("a nanosecond early: retry-after %q, want 1 (rounded up)", findHeader(r.Headers, "retry-after"))
	}
	clk.Add(time.Nanosecond)
	mustPass(t, e, mcpCall("6", "github"))
	limitReply(t, e, mcpCall("7", "github"))
	clk.Add(40 * time.Second)
	mustPass(t, e, mcpCall("8", "github"), mcpCall("9", "github"))
	limitReply(t, e, mcpCall("10", "github"))

	m := e.metrics
	if got := testutil.ToFloat64(m.LimitDecisions.WithLabelValues("mcp", "calls", "allowed")); got != 6 {
		t.Errorf("allowed decisions %v, want 6", got)
	}
	if got := testutil.ToFloat64(m.LimitDecisions.WithLabelValues("mcp", "calls", "limited")); got != 4 {
		t.Errorf("limited decisions %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.LimitRemaining.WithLabelValues("mcp", "calls", "reviewer")); got != 0 {
		t.Errorf("remaining gauge %v, want 0", got)
	}
}

// TestLimitBatchRefund: when a later limit refuses a batch, what an
// earlier one took is given back.
func TestLimitBatchRefund(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, audit := limitsEngine(t, clk, nil)
	mustPass(t, e, mcpCall("1", "semgrep"), mcpCall("2", "semgrep")) // semgrep-total: 2 of 4
	triage := Header{"x-mcp-server": "semgrep", "x-agent-id": "triage"}
	three := exchange{profile: "mcp", path: "/mcp", headers: triage, body: `[` +
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},` +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b"}},` +
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"c"}}]`}
	audit.Reset()
	r := limitReply(t, e, three) // calls/triage takes 3, then semgrep-total refuses 3
	if gjson.GetBytes(r.Body, "0.error.data.rule").Str != "limit:semgrep-total" {
		t.Fatalf("refused by %s", r.Body)
	}
	for i := range 3 {
		c := gjson.Get(audit.String(), fmt.Sprintf("mcp.calls.%d", i))
		if c.Get("decision").Str != "deny" || c.Get("rule").Str != "limit:semgrep-total" {
			t.Errorf("audit call %d: %s", i, c.Raw)
		}
	}
	if strings.Contains(dumpLimits(t, e), "mcp/calls/triage") {
		t.Fatalf("triage's calls were not refunded:\n%s", dumpLimits(t, e))
	}
	// All three of triage's calls a minute remain: one now, two later.
	mustPass(t, e, exchange{profile: "mcp", path: "/mcp", headers: triage, body: mcpCall("4", "semgrep").body})
	mustPass(t, e, exchange{profile: "mcp", path: "/mcp", headers: Header{"x-mcp-server": "github", "x-agent-id": "triage"},
		body: `[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]`})
}

func dumpLimits(t *testing.T, e *Engine) string {
	t.Helper()
	us, err := e.Limits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range us {
		fmt.Fprintf(&b, "%s/%s/%s unit=%s used=%g remaining=%g reset=%gs window=%s\n", u.Profile, u.Limit, u.Key, u.Unit, u.Used, u.Remaining, u.ResetSeconds, u.WindowStart)
	}
	return b.String()
}

func usedOf(t *testing.T, e *Engine, profile, limit, key string) float64 {
	t.Helper()
	us, err := e.Limits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Profile == profile && u.Limit == limit && u.Key == key {
			return u.Used
		}
	}
	return 0
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// chatStreamUsage is a streamed chat completion that reports usage.
func chatStreamUsage(prompt, completion int) string {
	return `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"a long answer"}}]}` + "\n\n" +
		fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, prompt, completion, prompt+completion) + "\n\n" +
		"data: [DONE]\n\n"
}

// TestLimitStreamCorrection: a stream whose usage exceeds the estimate is
// charged its real usage, so the next request waits for it; an upstream
// error, which the provider does not bill, gives the estimate back.
func TestLimitStreamCorrection(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, _ := limitsEngine(t, clk, nil)
	// Estimate: "hi" is 2 bytes → 1 input token, plus max_tokens 100.
	const estimate = 101
	stream := openaiChat(100)
	stream.status, stream.ctype = 200, "text/event-stream"
	s := chatStreamUsage(100, 800)
	stream.chunks = []string{s[:50], s[50:]}
	mustPass(t, e, stream)
	if got := usedOf(t, e, "openai", "tokens", "reviewer"); !near(got, 900) {
		t.Fatalf("charged %v tokens, want the real 900:\n%s", got, dumpLimits(t, e))
	}
	// 900 + 101 > 1000: the next request waits until 1 token has refilled.
	r := limitReply(t, e, openaiChat(100))
	if findHeader(r.Headers, "retry-after") != "1" || gjson.GetBytes(r.Body, "error.type").Str != "tokens" {
		t.Fatalf("%v %s", r.Headers, r.Body)
	}
	// Refused by tokens after requests took one: that one was refunded.
	if got := usedOf(t, e, "openai", "requests", "reviewer"); !near(got, 1) {
		t.Errorf("requests used %v, want 1", got)
	}
	clk.Add(time.Duration(900+estimate-1000) * time.Minute / 1000) // exactly 1 token's refill
	failed := openaiChat(100)
	failed.status, failed.ctype = 500, "application/json"
	mustPass(t, e, failed)
	if got := usedOf(t, e, "openai", "tokens", "reviewer"); !near(got, 1000-estimate) {
		t.Errorf("after an upstream error: %v tokens, want %v (the estimate refunded)", got, 1000-estimate)
	}
}

func anthropicReview(maxTokens int) exchange {
	return exchange{profile: "anthropic", path: "/v1/messages",
		body: fmt.Sprintf(`{"model":"claude-sonnet-4-20250514","max_tokens":%d,"messages":[{"role":"user","content":"review"}]}`, maxTokens)}
}

// TestLimitBudgetRollover: a daily USD budget, charged the real cost of
// each answer, refuses until midnight in its time zone, then renews.
func TestLimitBudgetRollover(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2025, 3, 10, 23, 0, 0, 0, ny)}
	e, _ := limitsEngine(t, clk, nil)
	answer := `{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"ok"}],` +
		`"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":20000}}`
	call := anthropicReview(20000) // estimate (2×3 + 20000×15)/1e6 USD
	call.status, call.ctype, call.chunks = 200, "application/json", []string{answer}
	mustPass(t, e, call, call, call) // 3 × (10×3 + 20000×15)/1e6 = 0.90009 USD
	if got := usedOf(t, e, "anthropic", "budget", "reviewer"); !near(got, 0.90009) {
		t.Fatalf("charged %v USD, want 0.90009:\n%s", got, dumpLimits(t, e))
	}
	r := limitReply(t, e, call)
	for name, want := range map[string]string{"retry-after": "3600", "x-ratelimit-reset": "3600", "x-ratelimit-limit": "1", "x-ratelimit-remaining": "0.09"} {
		if got := findHeader(r.Headers, name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if gjson.GetBytes(r.Body, "error.type").Str != "rate_limit_error" {
		t.Errorf("body %s", r.Body)
	}
	clk.Add(time.Hour - time.Nanosecond)
	limitReply(t, e, call)
	clk.Add(time.Nanosecond) // midnight in New York
	mustPass(t, e, call)
	if got := usedOf(t, e, "anthropic", "budget", "reviewer"); !near(got, 0.30003) {
		t.Errorf("new day: %v USD used, want 0.30003", got)
	}
	if !strings.Contains(dumpLimits(t, e), "window=2025-03-11T00:00:00-04:00") {
		t.Errorf("window:\n%s", dumpLimits(t, e))
	}
}

// TestLimitKeys: a key from a header is stored and shown hashed; an empty
// one is the anonymous bucket; a key that fails to evaluate denies.
func TestLimitKeys(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, audit := limitsEngine(t, clk, nil)
	tenant := func(v string) exchange {
		return exchange{profile: "tenants", path: "/", headers: Header{"x-tenant": v}}
	}
	mustPass(t, e, tenant("acme-secret-tenant"), tenant("globex"), tenant(""))
	limitReply(t, e, tenant("acme-secret-tenant"))
	dump := dumpLimits(t, e)
	if strings.Contains(dump, "acme") || strings.Contains(audit.String(), "acme") {
		t.Fatalf("a header's value was shown:\n%s\n%s", dump, audit.String())
	}
	if strings.Count(dump, "tenants/per-tenant/sha256:") != 2 || !strings.Contains(dump, "tenants/per-tenant/anonymous ") {
		t.Errorf("buckets:\n%s", dump)
	}
	r := limitReply(t, e, exchange{profile: "tenants", path: "/", headers: Header{"x-tenant": "new", "x-boom": "1"}})
	if r.Status != 403 || gjson.GetBytes(r.Body, "error.rule").Str != "limit:broken" {
		t.Errorf("a failing key: %d %s", r.Status, r.Body)
	}
	if got := testutil.ToFloat64(e.metrics.PolicyErrors.WithLabelValues("tenants", "limit:broken")); got != 1 {
		t.Errorf("evaluation error counted %v times", got)
	}
	// The take before the failing one was refunded: "new" can still pass.
	mustPass(t, e, tenant("new"))
}

// TestLimitSharedBackendDown: with the shared backend unreachable, a
// fail-closed store refuses 503 in the client's protocol; a fail-open one
// limits per replica. Neither waits longer than its timeout.
func TestLimitSharedBackendDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now: every dial is refused
	for _, mode := range []limits.FailMode{limits.FailClosed, limits.FailOpen} {
		clk := &testClock{t: limitsEpoch}
		c := redis.NewClient(&redis.Options{Addr: dead, ContextTimeoutEnabled: true, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		failures := 0
		store, err := limits.NewRedis(limits.RedisConfig{Client: c, Now: clk.Now, FailMode: mode, Timeout: 50 * time.Millisecond,
			OnFailure: func(error) { failures++ }})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := limitsEngine(t, clk, store)
		if mode == limits.FailClosed {
			r := limitReply(t, e, mcpCall("9", "github"))
			if r.Status != 503 || gjson.GetBytes(r.Body, "error.code").Int() != -32055 || gjson.GetBytes(r.Body, "id").Int() != 9 ||
				findHeader(r.Headers, "retry-after") != "1" {
				t.Errorf("fail closed: %d %v %s", r.Status, r.Headers, r.Body)
			}
			if got := testutil.ToFloat64(e.metrics.LimitDecisions.WithLabelValues("mcp", "calls", "unavailable")); got != 1 {
				t.Errorf("unavailable counted %v", got)
			}
		} else {
			mustPass(t, e, mcpCall("1", "github"), mcpCall("2", "github"), mcpCall("3", "github"))
			limitReply(t, e, mcpCall("4", "github")) // the replica's own limit
		}
		if failures == 0 {
			t.Errorf("mode %d: no failure reported", mode)
		}
	}
}

// TestLimitCompileErrors: limit expressions are compiled at load and their
// errors reported with their place.
func TestLimitCompileErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/limits_cel_errors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile("x.yaml", data)
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"x.yaml:8: profiles[0].limits[0].when: must evaluate to bool, not int",
		"x.yaml:12: profiles[0].limits[1].key: must evaluate to string, not int",
		"x.yaml:16: profiles[0].limits[2].key: ERROR",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

// TestLimitChargedByExtAuthz: behind a waypoint with both attachments the
// Check charges the estimate and the ext_proc stream of the same request
// takes nothing, only correcting the estimate with the real usage.
func TestLimitChargedByExtAuthz(t *testing.T) {
	clk := &testClock{t: limitsEpoch}
	e, _ := limitsEngine(t, clk, nil)
	mustPass(t, e, openaiChat(100)) // the Check: 1 request, an estimate of 101 tokens
	stream := openaiChat(100)
	stream.limitsCharged = true
	stream.status, stream.ctype = 200, "text/event-stream"
	stream.chunks = []string{chatStreamUsage(100, 800)}
	mustPass(t, e, stream)
	if got := usedOf(t, e, "openai", "requests", "reviewer"); !near(got, 1) {
		t.Errorf("requests used %v, want 1: the stream must not charge again", got)
	}
	if got := usedOf(t, e, "openai", "tokens", "reviewer"); !near(got, 900) {
		t.Errorf("tokens used %v, want the real 900", got)
	}
}
