package extauthz

import (
	"context"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agentguard/agentguard/pkg/engine"
)

// outOfOrder makes the engine itself fail: it hands it the request headers
// twice, as a confused Envoy would, which the engine treats as its own
// failure and answers with the profile's failure mode.
func outOfOrder(_ context.Context, x *engine.Exchange, h engine.Header, _ []byte, _ engine.AuthzBody) engine.Result {
	if r := x.RequestHeaders(h, false); r.Reply != nil {
		return r
	}
	return x.RequestHeaders(h, false)
}

// An engine failure follows the profile's failure mode, as under ext_proc:
// closed is a 5xx denial in the client's protocol, open an allow; neither
// is a gRPC error, which Envoy's failure_mode_allow would decide instead.
func TestEngineFailure(t *testing.T) {
	f := newFakeEnvoy(t, readTestdata(t, "extauthz.yaml"))
	f.server.authorize = outOfOrder
	readCall := []byte(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`)

	a := f.check(check{profile: "tools", principal: builder, body: readCall,
		headers: bodyHeaders(readCall, "x-mcp-server", "git", "x-request-id", "closed-1")})
	want{status: 500, code: codes.Unavailable, body: jsonRPCError(-32055, "null")}.verify(t, a)
	if got := testutil.ToFloat64(f.metrics.Failures.WithLabelValues("tools", "closed")); got != 1 {
		t.Errorf("closed failure counted %v", got)
	}
	if l := f.auditLines("closed-1"); len(l) != 1 || !strings.Contains(l[0], `"decision":"error"`) {
		t.Errorf("audit %v", l)
	}

	a = f.check(check{profile: "tools-open", body: readCall,
		headers: bodyHeaders(readCall, "x-mcp-server", "git", "x-agent-id", "anyone", "x-request-id", "open-1")})
	if !a.allowed {
		t.Fatalf("fail-open profile denied %d: %s", a.status, a.body)
	}
	if got := testutil.ToFloat64(f.metrics.Failures.WithLabelValues("tools-open", "open")); got != 1 {
		t.Errorf("open failure counted %v", got)
	}
	if l := f.auditLines("open-1"); len(l) != 1 || !strings.Contains(l[0], `"failed_open":true`) {
		t.Errorf("audit %v", l)
	}
}

// A panic costs one request: a 500 denial (never a gRPC error), logged,
// and the exchange still recorded once.
func TestPanicDenies(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	f.server.authorize = func(context.Context, *engine.Exchange, engine.Header, []byte, engine.AuthzBody) engine.Result {
		panic("boom")
	}
	a := f.check(check{profile: "mcp", headers: map[string]string{":method": "GET"}})
	if a.allowed || a.status != 500 || a.code != codes.Unavailable {
		t.Fatalf("want a 500 denial, got %+v", a)
	}
	if !strings.Contains(f.logs.String(), "panic in ext_authz Check") {
		t.Error("panic not logged")
	}
	// The panic came before the engine read the request: the record has
	// no request id, but it exists, once.
	if n := strings.Count(f.audit.String(), `"stream_error":"panic"`); n != 1 {
		t.Errorf("%d panic records: %s", n, f.audit.String())
	}
}

// A Check without HTTP attributes is not from the HTTP filter: refused as
// a malformed call, and nothing is recorded.
func TestMalformedCheck(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	for name, req := range map[string]*authv3.CheckRequest{
		"empty":      {},
		"no request": {Attributes: &authv3.AttributeContext{ContextExtensions: map[string]string{"profile": "mcp"}}},
		"no http":    {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}},
	} {
		_, err := f.client.Check(context.Background(), req)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	if f.audit.String() != "" {
		t.Errorf("recorded: %s", f.audit.String())
	}
}

// Each Check is finished right after its decision: one record, with no
// upstream status (ext_authz never sees the response), and the metrics.
func TestFinishedOnce(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	body := readTestdata(t, "tools_call_get_pr.json")
	h := bodyHeaders(body, "x-mcp-server", "github", "x-forwarded-client-cert", xfcc(reviewer), "x-request-id", "once-1")
	if a := f.check(check{profile: "mcp", body: body, headers: h}); !a.allowed {
		t.Fatalf("denied: %s", a.body)
	}
	l := f.auditLines("once-1")
	if len(l) != 1 {
		t.Fatalf("%d records", len(l))
	}
	for _, w := range []string{`"decision":"allow"`, `"tool":"get_pull_request"`, `"server":"github"`} {
		if !strings.Contains(l[0], w) {
			t.Errorf("record lacks %s: %s", w, l[0])
		}
	}
	if strings.Contains(l[0], `"status"`) {
		t.Errorf("a status recorded for a response agentguard never saw: %s", l[0])
	}
	if got := testutil.ToFloat64(f.metrics.Requests.WithLabelValues("mcp", "code-reviewer", "allow")); got != 1 {
		t.Errorf("requests metric %v", got)
	}
}

// Envoy gave up (its timeout passed, or the client left) while agentguard
// decided: the record says so.
func TestEnvoyGaveUp(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	entered := make(chan struct{})
	f.server.authorize = func(ctx context.Context, x *engine.Exchange, h engine.Header, b []byte, k engine.AuthzBody) engine.Result {
		close(entered)
		<-ctx.Done()
		return x.Authorize(h, b, k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	_, err := f.client.Check(ctx, check{profile: "mcp", headers: map[string]string{":method": "GET", "x-request-id": "late-1"}}.request())
	if status.Code(err) != codes.Canceled {
		t.Fatalf("err %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(f.auditLines("late-1")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l := f.auditLines("late-1"); len(l) != 1 || !strings.Contains(l[0], `"stream_error":"canceled"`) {
		t.Errorf("audit %v", l)
	}
}
