package e2e

// LLM end to end: the official Go SDKs (openai-go/v3, anthropic-sdk-go) as
// clients, on loopback, through
//
//	client → Envoy (the e2e/harness test double, or a real Envoy) → agentguard
//	       → Envoy → e2e/fakeprovider (replaying recorded provider responses)
//
// with the default deployment (policies/codereview.yaml). The agent holds a
// key of its own ("agent-held-key"); agentguard strips it and injects the
// provider's, which only the fake upstream may ever see.
//
// Every helper here is prefixed with llm: other e2e files share the package.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	antoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentguard/agentguard/e2e/fakeprovider"
	"github.com/agentguard/agentguard/e2e/stack"
	"github.com/agentguard/agentguard/pkg/pricing"
)

// The provider keys agentguard injects, the key the agent holds, and the
// recordings the fake upstream replays (e2e/testdata/llm/PROVENANCE.md).
const (
	llmOpenAIKey    = "sk-proj-e2eINJECTEDopenai7f3a9c1d"
	llmAnthropicKey = "sk-ant-api03-e2eINJECTEDanthropic4b1d2e"
	llmAgentKey     = "agent-held-key"

	llmRecChat          = "envoy_ai_gateway_openai_cassettes/chat-basic.yaml#0"
	llmRecChatStream    = "envoy_ai_gateway_openai_cassettes/chat-streaming-detailed-usage.yaml#0"
	llmRecChatBadReq    = "envoy_ai_gateway_openai_cassettes/chat-bad-request.yaml#0"
	llmRecResponses     = "pydantic_ai_cassettes/openai_responses/test_openai_responses_stream.yaml#0"
	llmRecMessage       = "anthropic_sdk_go/tool_runner_basic.yaml#0"
	llmRecMessageStream = "pydantic_ai_cassettes/anthropic/test_anthropic_model_thinking_part_stream.yaml#0"
)

// Provider-shaped 500s. The corpus records none; these are the documented
// shapes (OpenAI's usual server_error text, Anthropic's api_error).
const (
	llmOpenAI500    = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
	llmAnthropic500 = `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`
)

// llmEnv is one running chain with its fakes and what the client saw.
type llmEnv struct {
	s         *stack.Stack
	openai    *fakeprovider.Server
	anthropic *fakeprovider.Server
	recs      map[string]fakeprovider.Recording
	cap       *llmCapture

	mu   sync.Mutex
	errs []string // every error text a client got
}

// llmStart starts the chain on the default deployment with known provider
// keys, and checks at the test's end that no key leaked anywhere.
func llmStart(t *testing.T) *llmEnv {
	t.Helper()
	// Before stack.Start: agentguard reads the credential when it injects.
	t.Setenv("OPENAI_API_KEY", llmOpenAIKey)
	t.Setenv("ANTHROPIC_API_KEY", llmAnthropicKey)
	recs, err := fakeprovider.Load("testdata/llm/recordings.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	e := &llmEnv{openai: fakeprovider.New(), anthropic: fakeprovider.New(), recs: recs, cap: &llmCapture{}}
	t.Cleanup(e.openai.Close)
	t.Cleanup(e.anthropic.Close)
	e.s = stack.Start(t, stack.Options{Clusters: map[string]string{
		"openai":    e.openai.Addr(),
		"anthropic": e.anthropic.Addr(),
	}})
	// Registered after the stack's own cleanups, so it runs before them.
	t.Cleanup(func() {
		e.checkNoLeaks(t)
		if t.Failed() {
			t.Logf("agentguard and harness log:\n%s", llmRedact([]string{e.s.Logs()})[0])
		}
	})
	return e
}

func (e *llmEnv) rec(t *testing.T, id string) fakeprovider.Recording {
	t.Helper()
	r, ok := e.recs[id]
	if !ok {
		t.Fatalf("no recording %s", id)
	}
	return r
}

func (e *llmEnv) noteErr(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err.Error(), fmt.Sprintf("%+v", err))
	var oe *openai.Error
	if errors.As(err, &oe) {
		e.errs = append(e.errs, oe.RawJSON())
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		e.errs = append(e.errs, ae.RawJSON())
	}
}

func (e *llmEnv) openaiClient(agent string, opts ...oaoption.RequestOption) openai.Client {
	base := []oaoption.RequestOption{
		oaoption.WithBaseURL(e.s.URL(stack.OpenAI) + "/v1/"),
		oaoption.WithAPIKey(llmAgentKey),
		oaoption.WithHeader("x-agent-id", agent),
		oaoption.WithMaxRetries(0), // one request per call: the fake's queue stays in step
		oaoption.WithMiddleware(e.cap.middleware),
	}
	return openai.NewClient(append(base, opts...)...)
}

func (e *llmEnv) anthropicClient(agent string, opts ...antoption.RequestOption) anthropic.Client {
	base := []antoption.RequestOption{
		// The test process has ANTHROPIC_API_KEY set (for agentguard); the
		// agent must not pick it up.
		antoption.WithoutEnvironmentDefaults(),
		antoption.WithBaseURL(e.s.URL(stack.Anthropic)),
		antoption.WithAPIKey(llmAgentKey),
		antoption.WithHeader("x-agent-id", agent),
		antoption.WithMaxRetries(0),
		antoption.WithMiddleware(e.cap.middleware),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

// checkNoLeaks: neither provider key reaches the client (any response,
// any error), the audit log, agentguard's logs or the metrics; the agent's
// own key reaches no upstream and is not logged either.
func (e *llmEnv) checkNoLeaks(t *testing.T) {
	t.Helper()
	var metrics bytes.Buffer
	{
		w := httptest.NewRecorder()
		promhttp.HandlerFor(e.s.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		metrics.Write(w.Body.Bytes())
	}
	if metrics.Len() == 0 {
		t.Error("metrics text is empty")
	}
	places := map[string]string{
		"audit log":        e.s.Audit(),
		"agentguard logs":  e.s.Logs(),
		"metrics":          metrics.String(),
		"client responses": e.cap.responsesText(),
	}
	e.mu.Lock()
	places["client errors"] = strings.Join(e.errs, "\n")
	e.mu.Unlock()
	for where, text := range places {
		for _, key := range []string{llmOpenAIKey, llmAnthropicKey} {
			if strings.Contains(text, key) {
				t.Errorf("a provider key (%.12s…) appears in the %s", key, where)
			}
		}
		if where != "client responses" && where != "client errors" && strings.Contains(text, llmAgentKey) {
			t.Errorf("the agent's key appears in the %s", where)
		}
	}
	for name, f := range map[string]*fakeprovider.Server{"openai": e.openai, "anthropic": e.anthropic} {
		for _, r := range f.Requests() {
			if strings.Contains(llmHeaderText(r.Header), llmAgentKey) || bytes.Contains(r.Body, []byte(llmAgentKey)) {
				t.Errorf("%s upstream saw the agent's key on %s %s", name, r.Method, r.Path)
			}
			if r.Unexpected {
				t.Errorf("%s upstream got an unexpected request %s %s", name, r.Method, r.Path)
			}
		}
	}
}

// llmSince returns the requests a fake received since the n-th.
func llmSince(f *fakeprovider.Server, n int) []fakeprovider.Request {
	return f.Requests()[n:]
}

// llmWantInjected checks the one request an upstream got carried exactly
// the provider's credential and nothing of the agent's.
func llmWantInjected(t *testing.T, provider string, reqs []fakeprovider.Request, path string) fakeprovider.Request {
	t.Helper()
	if len(reqs) != 1 {
		t.Fatalf("%s upstream got %d requests, want 1", provider, len(reqs))
	}
	r := reqs[0]
	if r.Path != path {
		t.Errorf("upstream path %q, want %q", r.Path, path)
	}
	switch provider {
	case "openai":
		if got := r.Header.Values("Authorization"); !slices.Equal(got, []string{"Bearer " + llmOpenAIKey}) {
			t.Errorf("upstream Authorization %q, want exactly the injected bearer", llmRedact(got))
		}
		if v := r.Header.Values("X-Api-Key"); len(v) > 0 {
			t.Errorf("openai upstream got x-api-key %q", llmRedact(v))
		}
	case "anthropic":
		if got := r.Header.Values("X-Api-Key"); !slices.Equal(got, []string{llmAnthropicKey}) {
			t.Errorf("upstream x-api-key %q, want exactly the injected key", llmRedact(got))
		}
		if v := r.Header.Values("Authorization"); len(v) > 0 {
			t.Errorf("anthropic upstream got Authorization %q", llmRedact(v))
		}
		if r.Header.Get("Anthropic-Version") == "" {
			t.Error("anthropic upstream got no anthropic-version")
		}
	}
	other := llmAnthropicKey
	if provider == "anthropic" {
		other = llmOpenAIKey
	}
	if strings.Contains(llmHeaderText(r.Header), other) {
		t.Errorf("%s upstream got the other provider's key", provider)
	}
	return r
}

func llmRedact(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.NewReplacer(llmOpenAIKey, "<openai key>", llmAnthropicKey, "<anthropic key>").Replace(v)
	}
	return out
}

func llmHeaderText(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

// --- what the client saw

// llmCapture is an SDK middleware that keeps every request's headers and
// every response's status, headers and body bytes as the client read them.
type llmCapture struct {
	mu sync.Mutex
	ex []*llmExchange
}

type llmExchange struct {
	Method, Path string
	ReqHeader    http.Header
	ReqBody      []byte
	Status       int
	RespHeader   http.Header

	mu   sync.Mutex
	body bytes.Buffer
}

func (x *llmExchange) Body() []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	return bytes.Clone(x.body.Bytes())
}

func (c *llmCapture) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	x := &llmExchange{Method: req.Method, Path: req.URL.Path, ReqHeader: req.Header.Clone()}
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			x.ReqBody, _ = io.ReadAll(b)
			b.Close()
		}
	}
	c.mu.Lock()
	c.ex = append(c.ex, x)
	c.mu.Unlock()
	resp, err := next(req)
	if err != nil {
		return resp, err
	}
	x.Status, x.RespHeader = resp.StatusCode, resp.Header.Clone()
	resp.Body = &llmTee{rc: resp.Body, x: x}
	return resp, nil
}

// last is the latest exchange.
func (c *llmCapture) last(t *testing.T) *llmExchange {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ex) == 0 {
		t.Fatal("the client made no request")
	}
	return c.ex[len(c.ex)-1]
}

func (c *llmCapture) responsesText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, x := range c.ex {
		b.WriteString(llmHeaderText(x.RespHeader))
		b.Write(x.Body())
		b.WriteByte('\n')
	}
	return b.String()
}

// llmTee copies what the client reads; on Close it reads the rest first,
// so the copy is every byte the client was sent.
type llmTee struct {
	rc io.ReadCloser
	x  *llmExchange
}

func (r *llmTee) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.x.mu.Lock()
	r.x.body.Write(p[:n])
	r.x.mu.Unlock()
	return n, err
}

func (r *llmTee) Close() error {
	io.Copy(io.Discard, r)
	return r.rc.Close()
}

// --- audit

type llmAuditLine struct {
	RequestID string `json:"request_id"`
	Profile   string `json:"profile"`
	Agent     string `json:"agent"`
	Decision  string `json:"decision"`
	Rule      string `json:"rule"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	LLM       *struct {
		Provider         string  `json:"provider"`
		Endpoint         string  `json:"endpoint"`
		Model            string  `json:"model"`
		PricedAs         string  `json:"priced_as"`
		Workflow         string  `json:"workflow"`
		Stream           bool    `json:"stream"`
		InputTokens      int64   `json:"input_tokens"`
		OutputTokens     int64   `json:"output_tokens"`
		CachedTokens     int64   `json:"cached_tokens"`
		CacheWriteTokens int64   `json:"cache_write_tokens"`
		ReasoningTokens  int64   `json:"reasoning_tokens"`
		CostUSD          float64 `json:"cost_usd"`
		UsageMissing     bool    `json:"usage_missing"`
	} `json:"llm"`
}

func llmAuditLines(t *testing.T, s *stack.Stack) []llmAuditLine {
	t.Helper()
	var out []llmAuditLine
	for _, line := range strings.Split(strings.TrimSpace(s.Audit()), "\n") {
		if line == "" {
			continue
		}
		var l llmAuditLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

// llmAuditFor waits for the one audit record of the request sent with
// x-workflow-id wf (a stream's record is written when it ends, which can
// be just after the client has read its last byte).
func llmAuditFor(t *testing.T, s *stack.Stack, wf string) llmAuditLine {
	t.Helper()
	var found []llmAuditLine
	llmEventually(func() bool {
		found = found[:0]
		for _, l := range llmAuditLines(t, s) {
			if l.LLM != nil && l.LLM.Workflow == wf {
				found = append(found, l)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Fatalf("%d audit records for workflow %s, want 1:\n%s", len(found), wf, s.Audit())
	}
	return found[0]
}

// llmEventually polls cond for a while; it bounds a wait, it measures
// nothing.
func llmEventually(cond func() bool) bool {
	for range 500 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// llmUsage is one recorded usage, in the audit record's terms.
type llmUsage struct {
	input, output, cached, cacheWrite, reasoning int64
}

// llmRecordedUsage reads the usage object of a recording: the JSON body's
// usage, or the stream's last usage as the corpus summarised it.
func llmRecordedUsage(t *testing.T, r fakeprovider.Recording) llmUsage {
	t.Helper()
	raw := []byte(nil)
	if r.SSE != nil {
		raw = r.SSE.LastUsage
	} else {
		var b struct {
			Usage json.RawMessage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			t.Fatal(err)
		}
		raw = b.Usage
	}
	var u struct {
		PromptTokens     *int64 `json:"prompt_tokens"`
		CompletionTokens int64  `json:"completion_tokens"`
		PromptDetails    struct {
			Cached int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionDetails struct {
			Reasoning int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
		InputDetails *struct {
			Cached int64 `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputDetails struct {
			Reasoning int64 `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		CacheRead  int64 `json:"cache_read_input_tokens"`
		CacheWrite int64 `json:"cache_creation_input_tokens"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatalf("%s usage %s: %v", r.ID, raw, err)
	}
	switch {
	case u.PromptTokens != nil: // chat completions
		return llmUsage{input: *u.PromptTokens, output: u.CompletionTokens, cached: u.PromptDetails.Cached, reasoning: u.CompletionDetails.Reasoning}
	case u.InputDetails != nil: // responses
		return llmUsage{input: u.InputTokens, output: u.OutputTokens, cached: u.InputDetails.Cached, reasoning: u.OutputDetails.Reasoning}
	default: // anthropic: input_tokens excludes the cache; the record counts all input
		return llmUsage{input: u.InputTokens + u.CacheRead + u.CacheWrite, output: u.OutputTokens, cached: u.CacheRead, cacheWrite: u.CacheWrite}
	}
}

// llmWantAudit checks the request's audit record against the recorded usage
// and the shipped price of the model the upstream answered as.
func llmWantAudit(t *testing.T, e *llmEnv, wf, provider, endpoint, model, pricedAs string, stream bool, want llmUsage) {
	t.Helper()
	a := llmAuditFor(t, e.s, wf)
	if a.Decision != "allow" || a.Status != 200 || a.Agent != "code-reviewer" || a.Profile != provider {
		t.Errorf("audit %s: decision %q status %d agent %q profile %q", wf, a.Decision, a.Status, a.Agent, a.Profile)
	}
	l := a.LLM
	if l.Provider != provider || l.Endpoint != endpoint || l.Model != model || l.PricedAs != pricedAs || l.Stream != stream || l.UsageMissing {
		t.Errorf("audit %s: llm %+v, want provider %s endpoint %s model %s priced_as %s stream %v", wf, *l, provider, endpoint, model, pricedAs, stream)
	}
	got := llmUsage{l.InputTokens, l.OutputTokens, l.CachedTokens, l.CacheWriteTokens, l.ReasoningTokens}
	if got != want {
		t.Errorf("audit %s: tokens %+v, recorded %+v", wf, got, want)
	}
	price, name, ok := pricing.Default().Lookup(model)
	if !ok || name != pricedAs {
		t.Fatalf("no shipped price for %s", model)
	}
	cost := price.Cost(pricing.Usage{Input: want.input - want.cached - want.cacheWrite, CachedInput: want.cached, CacheWrite: want.cacheWrite, Output: want.output})
	if cost == 0 || math.Abs(l.CostUSD-cost) > 1e-12 {
		t.Errorf("audit %s: cost %g USD, want %g", wf, l.CostUSD, cost)
	}
}

// --- SSE helpers over recorded bodies

// llmEvents cuts a recorded stream into its events, each with its blank
// line (the recordings use LF only).
func llmEvents(body string) []string {
	var out []string
	for body != "" {
		i := strings.Index(body, "\n\n")
		if i < 0 {
			out = append(out, body)
			break
		}
		out = append(out, body[:i+2])
		body = body[i+2:]
	}
	return out
}

// llmEventData is an event's data payload (one data line in these
// recordings), compacted, and its event type line, if any.
func llmEventData(t *testing.T, ev string) (typ, data string) {
	t.Helper()
	for _, line := range strings.Split(ev, "\n") {
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			typ = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	if data != "" && data != "[DONE]" {
		data = llmCompact(t, data)
	}
	return typ, data
}

func llmCompact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}

// llmIsUsageChunk: the include_usage chunk (empty choices, a usage object).
func llmIsUsageChunk(t *testing.T, ev string) bool {
	_, data := llmEventData(t, ev)
	return strings.Contains(data, `"choices":[]`) && strings.Contains(data, `"usage":{`)
}

// llmStreamCtx bounds a streaming call so that a chain that buffers the
// stream (and so never shows the first event while the upstream holds the
// rest) fails the test instead of hanging it. It measures nothing.
func llmStreamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// llmHeld enqueues a recording as a stream held after its first event.
func llmHeld(f *fakeprovider.Server, r fakeprovider.Recording) (release func()) {
	hold := make(chan struct{})
	resp := r.Response()
	resp.Hold = hold
	f.Enqueue(resp)
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }
}

// ============================================================== tests

func TestLLMOpenAIChatCompletionJSON(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecChat)
	var recorded openai.ChatCompletion
	if err := json.Unmarshal([]byte(rec.Body), &recorded); err != nil {
		t.Fatal(err)
	}
	e.openai.Enqueue(rec.Response())
	n := len(e.openai.Requests())
	c := e.openaiClient("code-reviewer", oaoption.WithHeader("x-workflow-id", "wf-openai-chat-json"))
	got, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4o,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	})
	e.noteErr(err)
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	x := e.cap.last(t)
	if h := x.ReqHeader.Get("Authorization"); h != "Bearer "+llmAgentKey {
		t.Fatalf("the client did not send its own key (Authorization %q): the test proves nothing", h)
	}
	if got.ID != recorded.ID || got.Model != "gpt-5-nano-2025-08-07" || len(got.Choices) != 1 ||
		got.Choices[0].Message.Content != recorded.Choices[0].Message.Content || !strings.HasPrefix(got.Choices[0].Message.Content, "Hi there!") {
		t.Errorf("SDK decoded %+v", got)
	}
	if got.Usage.PromptTokens != 8 || got.Usage.CompletionTokens != 377 || got.Usage.CompletionTokensDetails.ReasoningTokens != 320 {
		t.Errorf("SDK usage %+v", got.Usage)
	}
	if b := x.Body(); !bytes.Equal(b, []byte(rec.Body)) {
		t.Errorf("client got other bytes than the upstream sent:\n got %q\nwant %q", b, rec.Body)
	}
	if x.Status != 200 || x.RespHeader.Get("Content-Type") != rec.ContentType {
		t.Errorf("client saw status %d content-type %q", x.Status, x.RespHeader.Get("Content-Type"))
	}
	up := llmWantInjected(t, "openai", llmSince(e.openai, n), "/v1/chat/completions")
	if !bytes.Equal(up.Body, x.ReqBody) {
		t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, x.ReqBody)
	}
	llmWantAudit(t, e, "wf-openai-chat-json", "openai", "chat_completions", "gpt-5-nano-2025-08-07", "gpt-5-nano", false, llmRecordedUsage(t, rec))
}

func TestLLMAnthropicMessageJSON(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecMessage)
	e.anthropic.Enqueue(rec.Response())
	n := len(e.anthropic.Requests())
	c := e.anthropicClient("code-reviewer", antoption.WithHeader("x-workflow-id", "wf-anthropic-json"))
	got, err := c.Messages.New(t.Context(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-20250514",
		MaxTokens: 512,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What's the weather in San Francisco? Use fahrenheit."))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("Get weather"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
		}}},
	})
	e.noteErr(err)
	if err != nil {
		t.Fatalf("message: %v", err)
	}
	x := e.cap.last(t)
	if h := x.ReqHeader.Get("X-Api-Key"); h != llmAgentKey {
		t.Fatalf("the client did not send its own key (x-api-key %q): the test proves nothing", h)
	}
	if got.ID != "msg_01VLZuPg94y7NULJySZhEDJY" || got.StopReason != anthropic.StopReasonToolUse || len(got.Content) != 2 ||
		got.Content[0].Text != "I'll get the current weather in San Francisco for you in Fahrenheit." ||
		got.Content[1].Name != "get_weather" || string(got.Content[1].Input) != `{"city":"San Francisco","units":"fahrenheit"}` {
		t.Errorf("SDK decoded %s", got.RawJSON())
	}
	if got.Usage.InputTokens != 402 || got.Usage.OutputTokens != 89 {
		t.Errorf("SDK usage %+v", got.Usage)
	}
	if b := x.Body(); !bytes.Equal(b, []byte(rec.Body)) {
		t.Errorf("client got other bytes than the upstream sent:\n got %q\nwant %q", b, rec.Body)
	}
	up := llmWantInjected(t, "anthropic", llmSince(e.anthropic, n), "/v1/messages")
	if !bytes.Equal(up.Body, x.ReqBody) {
		t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, x.ReqBody)
	}
	llmWantAudit(t, e, "wf-anthropic-json", "anthropic", "messages", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet", false, llmRecordedUsage(t, rec))
}

func TestLLMOpenAIChatStream(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecChatStream)
	events := llmEvents(rec.Body)
	for _, tc := range []struct {
		name         string
		includeUsage bool
	}{
		{"include_usage", true},
		{"no_include_usage", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf := "wf-openai-stream-" + tc.name
			// What the client must receive: the recording, less the usage
			// chunk when agentguard asked for it on the client's behalf.
			var want []string
			for _, ev := range events {
				if !tc.includeUsage && llmIsUsageChunk(t, ev) {
					continue
				}
				want = append(want, ev)
			}
			if len(want) == len(events) != tc.includeUsage {
				t.Fatal("the recording has no usage chunk")
			}
			release := llmHeld(e.openai, rec)
			defer release()
			n := len(e.openai.Requests())
			params := openai.ChatCompletionNewParams{
				Model:               openai.ChatModelGPT4oMini,
				Messages:            []openai.ChatCompletionMessageParamUnion{openai.DeveloperMessage("Hello, I'm a developer!")},
				MaxCompletionTokens: openai.Int(100),
			}
			if tc.includeUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			c := e.openaiClient("code-reviewer", oaoption.WithHeader("x-workflow-id", wf))
			stream := c.Chat.Completions.NewStreaming(llmStreamCtx(t), params)
			var chunks []openai.ChatCompletionChunk
			for stream.Next() {
				chunks = append(chunks, stream.Current())
				release() // the first chunk came through while the upstream held the rest
			}
			e.noteErr(stream.Err())
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			stream.Close()
			x := e.cap.last(t)

			// The SDK saw every recorded chunk it should, in order, as recorded.
			var wantData []string
			for _, ev := range want {
				if _, d := llmEventData(t, ev); d != "[DONE]" {
					wantData = append(wantData, d)
				}
			}
			var gotData []string
			for _, ch := range chunks {
				gotData = append(gotData, llmCompact(t, ch.RawJSON()))
			}
			if !slices.Equal(gotData, wantData) {
				t.Errorf("SDK chunks:\n got %q\nwant %q", gotData, wantData)
			}
			if len(chunks) > 0 {
				lastChunk := chunks[len(chunks)-1]
				if tc.includeUsage && (lastChunk.Usage.PromptTokens != 12 || lastChunk.Usage.CompletionTokens != 100 || len(lastChunk.Choices) != 0) {
					t.Errorf("last chunk %s, want the usage chunk", lastChunk.RawJSON())
				}
				for _, ch := range chunks {
					if !tc.includeUsage && ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
						t.Errorf("client that did not ask for usage got usage chunk %s", ch.RawJSON())
					}
				}
			}
			// On the wire: exactly the upstream's bytes (less the added chunk).
			if b := x.Body(); string(b) != strings.Join(want, "") {
				t.Errorf("client stream bytes:\n got %q\nwant %q", b, strings.Join(want, ""))
			}
			if !strings.HasPrefix(x.RespHeader.Get("Content-Type"), "text/event-stream") {
				t.Errorf("client content-type %q", x.RespHeader.Get("Content-Type"))
			}
			// The upstream was asked for usage either way.
			up := llmWantInjected(t, "openai", llmSince(e.openai, n), "/v1/chat/completions")
			var upBody struct {
				Stream        bool `json:"stream"`
				StreamOptions *struct {
					IncludeUsage bool `json:"include_usage"`
				} `json:"stream_options"`
			}
			if err := json.Unmarshal(up.Body, &upBody); err != nil {
				t.Fatal(err)
			}
			if !upBody.Stream || upBody.StreamOptions == nil || !upBody.StreamOptions.IncludeUsage {
				t.Errorf("upstream body %s lacks stream_options.include_usage", up.Body)
			}
			if tc.includeUsage && !bytes.Equal(up.Body, x.ReqBody) {
				t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, x.ReqBody)
			}
			if !tc.includeUsage && bytes.Contains(x.ReqBody, []byte("include_usage")) {
				t.Fatalf("the client asked for usage itself: %s", x.ReqBody)
			}
			llmWantAudit(t, e, wf, "openai", "chat_completions", "gpt-5-nano-2025-08-07", "gpt-5-nano", true, llmRecordedUsage(t, rec))
		})
	}
}

func TestLLMOpenAIResponsesStream(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecResponses)
	release := llmHeld(e.openai, rec)
	defer release()
	n := len(e.openai.Requests())
	c := e.openaiClient("code-reviewer", oaoption.WithHeader("x-workflow-id", "wf-openai-responses-stream"))
	stream := c.Responses.NewStreaming(llmStreamCtx(t), responses.ResponseNewParams{
		Model: openai.ChatModelGPT4o,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the capital of France?")},
	})
	var types, data []string
	var args string
	var completed responses.Response
	for stream.Next() {
		ev := stream.Current()
		release()
		types = append(types, ev.Type)
		data = append(data, llmCompact(t, ev.RawJSON()))
		switch ev.Type {
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.completed":
			completed = ev.Response
		}
	}
	e.noteErr(stream.Err())
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	stream.Close()
	var wantTypes, wantData []string
	for _, ev := range llmEvents(rec.Body) {
		typ, d := llmEventData(t, ev)
		wantTypes, wantData = append(wantTypes, typ), append(wantData, d)
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("SDK event types:\n got %q\nwant %q", types, wantTypes)
	}
	if !slices.Equal(data, wantData) {
		t.Errorf("SDK events differ from the recording")
	}
	if args != `{"country":"France"}` {
		t.Errorf("function call arguments %q", args)
	}
	if completed.Usage.InputTokens != 255 || completed.Usage.OutputTokens != 16 || completed.Model != "gpt-4o-2024-08-06" {
		t.Errorf("response.completed: model %q usage %+v", completed.Model, completed.Usage)
	}
	x := e.cap.last(t)
	if b := x.Body(); !bytes.Equal(b, []byte(rec.Body)) {
		t.Errorf("client stream bytes differ from the upstream's:\n got %q\nwant %q", b, rec.Body)
	}
	up := llmWantInjected(t, "openai", llmSince(e.openai, n), "/v1/responses")
	if !bytes.Equal(up.Body, x.ReqBody) {
		t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, x.ReqBody)
	}
	llmWantAudit(t, e, "wf-openai-responses-stream", "openai", "responses", "gpt-4o-2024-08-06", "gpt-4o", true, llmRecordedUsage(t, rec))
}

func TestLLMAnthropicMessageStream(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecMessageStream)
	release := llmHeld(e.anthropic, rec)
	defer release()
	n := len(e.anthropic.Requests())
	c := e.anthropicClient("code-reviewer", antoption.WithHeader("x-workflow-id", "wf-anthropic-stream"))
	stream := c.Messages.NewStreaming(llmStreamCtx(t), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-0",
		MaxTokens: 4096,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("How do I cross the street?"))},
		Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
	})
	var msg anthropic.Message
	var types, data []string
	for stream.Next() {
		ev := stream.Current()
		release()
		types = append(types, ev.Type)
		data = append(data, llmCompact(t, ev.RawJSON()))
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate %s: %v", ev.Type, err)
		}
	}
	e.noteErr(stream.Err())
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	stream.Close()
	// What the recording says the message is (the SDK skips pings).
	var wantTypes, wantData []string
	var thinking, text, signature string
	for _, ev := range llmEvents(rec.Body) {
		typ, d := llmEventData(t, ev)
		if typ == "ping" {
			continue
		}
		wantTypes, wantData = append(wantTypes, typ), append(wantData, d)
		var delta struct {
			Delta struct{ Type, Thinking, Text, Signature string } `json:"delta"`
		}
		json.Unmarshal([]byte(d), &delta)
		thinking += delta.Delta.Thinking
		text += delta.Delta.Text
		signature += delta.Delta.Signature
	}
	if !slices.Equal(types, wantTypes) || !slices.Equal(data, wantData) {
		t.Errorf("SDK events differ from the recording: got %d, want %d", len(types), len(wantTypes))
	}
	if len(msg.Content) != 2 || msg.Content[0].Thinking != thinking || msg.Content[0].Signature != signature ||
		msg.Content[1].Text != text || thinking == "" || text == "" {
		t.Errorf("accumulated message %s", msg.RawJSON())
	}
	if msg.Model != "claude-sonnet-4-20250514" || msg.Usage.InputTokens != 43 || msg.Usage.OutputTokens != 282 {
		t.Errorf("accumulated model %q usage %+v", msg.Model, msg.Usage)
	}
	x := e.cap.last(t)
	if b := x.Body(); !bytes.Equal(b, []byte(rec.Body)) {
		t.Errorf("client stream bytes differ from the upstream's (%d vs %d bytes)", len(b), len(rec.Body))
	}
	up := llmWantInjected(t, "anthropic", llmSince(e.anthropic, n), "/v1/messages")
	if !bytes.Equal(up.Body, x.ReqBody) {
		t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, x.ReqBody)
	}
	llmWantAudit(t, e, "wf-anthropic-stream", "anthropic", "messages", "claude-sonnet-4-20250514", "claude-sonnet-4", true, llmRecordedUsage(t, rec))
}

// TestLLMDenials: agentguard's answers reach the SDKs as their own API
// errors, in the provider's shape and status, and nothing reaches the
// upstream.
func TestLLMDenials(t *testing.T) {
	e := llmStart(t)
	ctx := t.Context()
	big := strings.Repeat("review this code please. ", 5<<20/25+1) // > 5 MB of prompt

	openaiCases := []struct {
		name, agent, wf string
		params          openai.ChatCompletionNewParams
		status          int
		errType, code   string
		msg, rule       string
	}{
		{
			name: "model_not_allowed", agent: "code-reviewer", wf: "wf-deny-openai-model",
			params: openai.ChatCompletionNewParams{Model: openai.ChatModelGPT4_1, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}},
			status: 403, errType: "permission_error", code: "policy_denied", msg: `model "gpt-4.1" is not allowed for this agent`, rule: "builtin:model-not-allowed",
		},
		{
			name: "max_tokens_policy", agent: "code-reviewer", wf: "wf-deny-openai-max-tokens",
			params: openai.ChatCompletionNewParams{Model: openai.ChatModelGPT4o, MaxTokens: openai.Int(20000), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}},
			status: 403, errType: "permission_error", code: "policy_denied", msg: "max_tokens above 16384 is not allowed", rule: "bounded-completions",
		},
		{
			name: "too_large", agent: "code-reviewer", wf: "wf-deny-openai-too-large",
			params: openai.ChatCompletionNewParams{Model: openai.ChatModelGPT4o, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(big)}},
			status: 413,
		},
	}
	for _, tc := range openaiCases {
		t.Run("openai/"+tc.name, func(t *testing.T) {
			n := len(e.openai.Requests())
			c := e.openaiClient(tc.agent, oaoption.WithHeader("x-workflow-id", tc.wf))
			_, err := c.Chat.Completions.New(ctx, tc.params)
			e.noteErr(err)
			var ae *openai.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *openai.Error", err)
			}
			if ae.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", ae.StatusCode, tc.status, ae.RawJSON())
			}
			if tc.status == 413 {
				// Envoy's buffer limit equals max_body_bytes: Envoy answers
				// before agentguard sees the body, shaped like OpenAI's
				// errors by the listener's local_reply_config.
				x := e.cap.last(t)
				if ct := x.RespHeader.Get("Content-Type"); ct != "application/json" || ae.Type != "invalid_request_error" || ae.Code != "request_too_large" {
					t.Errorf("413 not in OpenAI's shape: content-type %q body %q", ct, x.Body())
				}
			}
			if tc.status != 413 {
				if ae.Type != tc.errType || ae.Code != tc.code || ae.Message != tc.msg {
					t.Errorf("error type %q code %q message %q, want %q %q %q", ae.Type, ae.Code, ae.Message, tc.errType, tc.code, tc.msg)
				}
				a := llmAuditFor(t, e.s, tc.wf)
				if a.Decision != "deny" || a.Rule != tc.rule || a.Status != tc.status {
					t.Errorf("audit: decision %q rule %q status %d", a.Decision, a.Rule, a.Status)
				}
			}
			if got := llmSince(e.openai, n); len(got) != 0 {
				t.Errorf("a denied request reached the upstream: %d requests", len(got))
			}
		})
	}

	anthropicCases := []struct {
		name, agent, wf string
		params          anthropic.MessageNewParams
		status          int
		errType, msg    string
		rule            string
	}{
		{
			name: "model_not_allowed_for_triage_bot", agent: "triage-bot", wf: "wf-deny-anthropic-model",
			params: anthropic.MessageNewParams{Model: "claude-sonnet-4-20250514", MaxTokens: 64, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}},
			status: 403, errType: "permission_error", msg: `model "claude-sonnet-4-20250514" is not allowed for this agent`, rule: "builtin:model-not-allowed",
		},
		{
			name: "too_large", agent: "code-reviewer", wf: "wf-deny-anthropic-too-large",
			params: anthropic.MessageNewParams{Model: "claude-sonnet-4-20250514", MaxTokens: 64, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(big))}},
			status: 413,
		},
	}
	for _, tc := range anthropicCases {
		t.Run("anthropic/"+tc.name, func(t *testing.T) {
			n := len(e.anthropic.Requests())
			c := e.anthropicClient(tc.agent, antoption.WithHeader("x-workflow-id", tc.wf))
			_, err := c.Messages.New(ctx, tc.params)
			e.noteErr(err)
			var ae *anthropic.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *anthropic.Error", err)
			}
			if ae.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", ae.StatusCode, tc.status, ae.RawJSON())
			}
			if tc.status == 413 {
				x := e.cap.last(t)
				if ct := x.RespHeader.Get("Content-Type"); ct != "application/json" || string(ae.Type()) != "request_too_large" {
					t.Errorf("413 not in Anthropic's shape: content-type %q body %q", ct, x.Body())
				}
			}
			if tc.status != 413 {
				var body struct {
					Type  string `json:"type"`
					Error struct{ Type, Message string }
				}
				if err := json.Unmarshal([]byte(ae.RawJSON()), &body); err != nil {
					t.Fatalf("error body %q: %v", ae.RawJSON(), err)
				}
				if string(ae.Type()) != tc.errType || body.Type != "error" || body.Error.Type != tc.errType || body.Error.Message != tc.msg {
					t.Errorf("error %s, want type %s message %q", ae.RawJSON(), tc.errType, tc.msg)
				}
				a := llmAuditFor(t, e.s, tc.wf)
				if a.Decision != "deny" || a.Rule != tc.rule || a.Status != tc.status || a.Agent != tc.agent {
					t.Errorf("audit: decision %q rule %q status %d agent %q", a.Decision, a.Rule, a.Status, a.Agent)
				}
			}
			if got := llmSince(e.anthropic, n); len(got) != 0 {
				t.Errorf("a denied request reached the upstream: %d requests", len(got))
			}
		})
	}

	t.Run("openai/unknown_endpoint", func(t *testing.T) {
		n := len(e.openai.Requests())
		c := e.openaiClient("code-reviewer", oaoption.WithHeader("x-workflow-id", "wf-deny-openai-files"))
		_, err := c.Files.New(ctx, openai.FileNewParams{
			File:    openai.File(strings.NewReader(`{"custom_id":"1"}`+"\n"), "batch.jsonl", "application/jsonl"),
			Purpose: openai.FilePurposeBatch,
		})
		e.noteErr(err)
		var ae *openai.Error
		if !errors.As(err, &ae) {
			t.Fatalf("got %v, want an *openai.Error", err)
		}
		if ae.StatusCode != 404 || ae.Type != "invalid_request_error" || ae.Code != "unknown_url" || ae.Message == "" {
			t.Errorf("status %d: %s", ae.StatusCode, ae.RawJSON())
		}
		if x := e.cap.last(t); x.Method != http.MethodPost || x.Path != "/v1/files" {
			t.Errorf("the SDK called %s %s", x.Method, x.Path)
		}
		if got := llmSince(e.openai, n); len(got) != 0 {
			t.Errorf("an ungoverned endpoint reached the upstream")
		}
	})
	t.Run("anthropic/unknown_endpoint", func(t *testing.T) {
		n := len(e.anthropic.Requests())
		c := e.anthropicClient("code-reviewer", antoption.WithHeader("x-workflow-id", "wf-deny-anthropic-files"))
		_, err := c.Beta.Files.Upload(ctx, anthropic.BetaFileUploadParams{
			File: anthropic.File(strings.NewReader("hello"), "notes.txt", "text/plain"),
		})
		e.noteErr(err)
		var ae *anthropic.Error
		if !errors.As(err, &ae) {
			t.Fatalf("got %v, want an *anthropic.Error", err)
		}
		if ae.StatusCode != 404 || ae.Type() != "not_found_error" {
			t.Errorf("status %d: %s", ae.StatusCode, ae.RawJSON())
		}
		if x := e.cap.last(t); x.Method != http.MethodPost || x.Path != "/v1/files" {
			t.Errorf("the SDK called %s %s", x.Method, x.Path)
		}
		if got := llmSince(e.anthropic, n); len(got) != 0 {
			t.Errorf("an ungoverned endpoint reached the upstream")
		}
	})

	// Malformed JSON cannot be sent through an SDK: a raw request.
	for _, tc := range []struct {
		provider, path string
		port           uint32
		auth           [2]string
	}{
		{"openai", "/v1/chat/completions", stack.OpenAI, [2]string{"Authorization", "Bearer " + llmAgentKey}},
		{"anthropic", "/v1/messages", stack.Anthropic, [2]string{"x-api-key", llmAgentKey}},
	} {
		t.Run(tc.provider+"/malformed_json", func(t *testing.T) {
			f := e.openai
			if tc.provider == "anthropic" {
				f = e.anthropic
			}
			n := len(f.Requests())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.s.URL(tc.port)+tc.path,
				strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-agent-id", "code-reviewer")
			req.Header.Set("x-workflow-id", "wf-malformed-"+tc.provider)
			req.Header.Set(tc.auth[0], tc.auth[1])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			e.mu.Lock()
			e.errs = append(e.errs, llmHeaderText(resp.Header), string(body))
			e.mu.Unlock()
			if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("status %d content-type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var shape struct {
				Type  *string `json:"type"`
				Error *struct {
					Message *string         `json:"message"`
					Type    *string         `json:"type"`
					Code    json.RawMessage `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &shape); err != nil || shape.Error == nil || shape.Error.Message == nil || *shape.Error.Message == "" ||
				shape.Error.Type == nil || *shape.Error.Type != "invalid_request_error" {
				t.Fatalf("body %s is not a provider error (%v)", body, err)
			}
			switch tc.provider {
			case "openai":
				if shape.Type != nil || shape.Error.Code == nil {
					t.Errorf("not OpenAI's shape {\"error\":{\"message\",\"type\",\"code\"}}: %s", body)
				}
			case "anthropic":
				if shape.Type == nil || *shape.Type != "error" {
					t.Errorf("not Anthropic's shape {\"type\":\"error\",\"error\":{…}}: %s", body)
				}
			}
			a := llmAuditFor(t, e.s, "wf-malformed-"+tc.provider)
			if a.Decision != "deny" || a.Status != 400 {
				t.Errorf("audit: decision %q status %d", a.Decision, a.Status)
			}
			if got := llmSince(f, n); len(got) != 0 {
				t.Errorf("a malformed request reached the upstream")
			}
		})
	}
}

// TestLLMUpstreamErrors: the provider's own 4xx and 5xx answers reach the
// SDK unchanged (bytes and status), and are audited as the upstream's.
func TestLLMUpstreamErrors(t *testing.T) {
	e := llmStart(t)
	ctx := t.Context()
	badReq := e.rec(t, llmRecChatBadReq)
	for _, tc := range []struct {
		name   string
		resp   fakeprovider.Response
		status int
		code   string
	}{
		{"recorded_400", badReq.Response(), 400, "unsupported_parameter"},
		{"500", fakeprovider.Response{Status: 500, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(llmOpenAI500)}, 500, ""},
	} {
		t.Run("openai/"+tc.name, func(t *testing.T) {
			wf := "wf-upstream-openai-" + tc.name
			e.openai.Enqueue(tc.resp)
			n := len(e.openai.Requests())
			c := e.openaiClient("code-reviewer", oaoption.WithHeader("x-workflow-id", wf))
			_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: openai.ChatModelGPT4o, MaxTokens: openai.Int(10),
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			e.noteErr(err)
			var ae *openai.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *openai.Error", err)
			}
			if ae.StatusCode != tc.status || ae.Code != tc.code || ae.RawJSON() == "" {
				t.Errorf("SDK error status %d code %q raw %s", ae.StatusCode, ae.Code, ae.RawJSON())
			}
			if x := e.cap.last(t); !bytes.Equal(x.Body(), tc.resp.Body) || x.Status != tc.status {
				t.Errorf("client got %d %q, upstream sent %d %q", x.Status, x.Body(), tc.status, tc.resp.Body)
			}
			llmWantInjected(t, "openai", llmSince(e.openai, n), "/v1/chat/completions")
			a := llmAuditFor(t, e.s, wf)
			if a.Decision != "allow" || a.Status != tc.status || a.LLM.InputTokens+a.LLM.OutputTokens != 0 || a.LLM.CostUSD != 0 {
				t.Errorf("audit: decision %q status %d llm %+v", a.Decision, a.Status, *a.LLM)
			}
		})
	}
	t.Run("anthropic/500", func(t *testing.T) {
		wf := "wf-upstream-anthropic-500"
		e.anthropic.Enqueue(fakeprovider.Response{Status: 500, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(llmAnthropic500)})
		n := len(e.anthropic.Requests())
		c := e.anthropicClient("code-reviewer", antoption.WithHeader("x-workflow-id", wf))
		_, err := c.Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-20250514", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		e.noteErr(err)
		var ae *anthropic.Error
		if !errors.As(err, &ae) {
			t.Fatalf("got %v, want an *anthropic.Error", err)
		}
		if ae.StatusCode != 500 || ae.Type() != "api_error" || ae.RawJSON() != llmAnthropic500 {
			t.Errorf("SDK error status %d type %q raw %s", ae.StatusCode, ae.Type(), ae.RawJSON())
		}
		if x := e.cap.last(t); string(x.Body()) != llmAnthropic500 || x.Status != 500 {
			t.Errorf("client got %d %q", x.Status, x.Body())
		}
		llmWantInjected(t, "anthropic", llmSince(e.anthropic, n), "/v1/messages")
		a := llmAuditFor(t, e.s, wf)
		if a.Decision != "allow" || a.Status != 500 {
			t.Errorf("audit: decision %q status %d", a.Decision, a.Status)
		}
	})
}

// TestLLMStreamPassedOnUnchanged is a regression test: a stream
// agentguard passes on unchanged (OpenAI chat with include_usage,
// Responses, every Anthropic stream) must reach the client whole. For each
// chunk it does not change agentguard answers a BodyResponse without a
// CommonResponse (pkg/extproc/convert.go, common() returns nil); the
// harness used to call that a spurious message, fail the filter after the
// 200 headers and drop the connection, so the client got EOF. Found by
// this suite and fixed in the harness by commit 2bf104e (streamChunk tells
// a wrong oneof from an absent CommonResponse, as Envoy's
// has_response() does).
func TestLLMStreamPassedOnUnchanged(t *testing.T) {
	e := llmStart(t)
	rec := e.rec(t, llmRecChatStream)
	resp := rec.Response()
	resp.Chunks = 2
	e.openai.Enqueue(resp)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.s.URL(stack.OpenAI)+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-agent-id", "code-reviewer")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a stream agentguard leaves unchanged does not reach the client: %v\n(harness log: %q)", err,
			llmGrep(e.s.Logs(), "ext_proc failure"))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || string(body) != rec.Body {
		t.Fatalf("status %d err %v: client got %d of %d bytes", res.StatusCode, err, len(body), len(rec.Body))
	}
}

// llmGrep returns the lines of s that contain sub.
func llmGrep(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}
