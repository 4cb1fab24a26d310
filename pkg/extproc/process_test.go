package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tidwall/gjson"
	"google.golang.org/grpc/metadata"

	"github.com/agentguard/agentguard/policies"
)

const reviewer = "spiffe://cluster.local/ns/agents/sa/code-reviewer"

// xfcc is the header an Istio waypoint writes for a client.
func xfcc(spiffe string) string {
	return `By=spiffe://cluster.local/ns/agents/sa/waypoint;Hash=0f0f;Subject="";URI=` + spiffe
}

type requestCase struct {
	name    string
	headers map[string]string
	body    []byte // nil: no body (end_of_stream on headers)
	// want: 0 means allowed; otherwise the ImmediateResponse status.
	status int
	code   int    // JSON-RPC error code in the reply
	id     string // raw JSON id expected in the reply ("null" when none)
	rule   string // rule in error.data.rule, when denied by a rule
}

func TestMCPRequests(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	var big strings.Builder
	big.WriteString("[")
	for i := range 10000 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)
	}
	big.WriteString("]")
	reviewerHdr := map[string]string{"x-forwarded-client-cert": xfcc(reviewer), "x-mcp-server": "github"}
	trusted := map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	cases := []requestCase{
		{name: "allowed tool via XFCC", headers: reviewerHdr, body: readTestdata(t, "tools_call_get_pr.json")},
		{name: "allowed tool via trusted header", headers: trusted, body: readTestdata(t, "tools_call_get_pr.json")},
		{name: "initialize", headers: trusted, body: readTestdata(t, "initialize.json")},
		{name: "notification", headers: trusted, body: readTestdata(t, "notification_initialized.json")},
		{name: "GET opens the server stream", headers: with(trusted, ":method", "GET", "content-type", ""), body: nil},
		{name: "forbidden tool", headers: reviewerHdr, body: readTestdata(t, "tools_call_delete_repo.json"),
			status: 403, code: -32051, id: `"del-1"`, rule: "no-destructive-tools"},
		{name: "tool not in allowlist", headers: with(trusted, "x-agent-id", "triage-bot"), body: readTestdata(t, "tools_call_get_pr.json"),
			status: 403, code: -32051, id: "7", rule: "builtin:tool-not-allowed"},
		{name: "server not allowed for agent", headers: with(trusted, "x-agent-id", "triage-bot", "x-mcp-server", "semgrep"),
			body: readTestdata(t, "tools_list.json"), status: 403, code: -32051, id: "2", rule: "builtin:server-not-allowed"},
		{name: "case variant of allowed tool", headers: trusted,
			body:   []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Get_Pull_Request","arguments":{}}}`),
			status: 403, code: -32051, id: "1", rule: "builtin:tool-not-allowed"},
		{name: "look-alike of allowed tool (Cyrillic e)", headers: trusted,
			body:   []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_pull_rеquest","arguments":{}}}`),
			status: 403, code: -32051, id: "1", rule: "builtin:tool-not-allowed"},
		{name: "full-width look-alike of forbidden tool", headers: trusted,
			body:   []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ｄｅｌｅｔｅ_repository","arguments":{}}}`),
			status: 403, code: -32051, id: "1", rule: "no-destructive-tools"},
		{name: "CEL rule on arguments", headers: trusted,
			body:   []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"create_pull_request_review","arguments":{"event":"APPROVE"}}}`),
			status: 403, code: -32051, id: "5", rule: "reviews-only-comment"},
		{name: "batch mixing allowed and denied", headers: trusted, body: readTestdata(t, "batch_mixed.json"),
			status: 403, code: -32051, id: "1", rule: "no-destructive-tools"},
		{name: "missing identity", headers: map[string]string{"x-mcp-server": "github"}, body: readTestdata(t, "tools_call_get_pr.json"),
			status: 403, code: -32053, id: "7", rule: "builtin:no-identity"},
		{name: "malformed XFCC is not downgraded to the header", headers: with(trusted, "x-forwarded-client-cert", `URI="broken`),
			body: readTestdata(t, "tools_call_get_pr.json"), status: 403, code: -32053, id: "7", rule: "builtin:bad-identity"},
		{name: "unknown server", headers: with(trusted, "x-mcp-server", "gitlab"), body: readTestdata(t, "tools_call_get_pr.json"),
			status: 400, code: -32600, id: "7", rule: "builtin:unknown-server"},
		{name: "missing server header", headers: with(trusted, "x-mcp-server", ""), body: readTestdata(t, "tools_call_get_pr.json"),
			status: 400, code: -32600, id: "7", rule: "builtin:unknown-server"},
		{name: "garbage protocol version", headers: with(trusted, "mcp-protocol-version", "latest"), body: readTestdata(t, "tools_call_get_pr.json"),
			status: 400, code: -32600, id: "7", rule: "builtin:bad-protocol-version"},
		{name: "known protocol version", headers: with(trusted, "mcp-protocol-version", "2025-06-18"), body: readTestdata(t, "tools_call_get_pr.json")},
		{name: "non-JSON body", headers: trusted, body: []byte("hello"), status: 400, code: -32700, id: "null"},
		{name: "truncated JSON", headers: trusted, body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/ca`), status: 400, code: -32700, id: "null"},
		{name: "no jsonrpc member", headers: trusted, body: []byte(`{"id":1,"method":"ping"}`), status: 400, code: -32600, id: "1"},
		{name: "no method", headers: trusted, body: []byte(`{"jsonrpc":"2.0","id":1}`), status: 400, code: -32600, id: "1"},
		{name: "id of wrong type", headers: trusted, body: []byte(`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`), status: 400, code: -32600, id: "null"},
		{name: "batch of 10000", headers: trusted, body: []byte(big.String()), status: 400, code: -32600, id: "null"},
		{name: "nested 10000 deep", headers: trusted, body: []byte(deep), status: 400, code: -32700, id: "null"},
		{name: "invalid UTF-8", headers: trusted, body: []byte("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xff\"}}"), status: 400, code: -32700, id: "null"},
		{name: "over max body", headers: trusted, body: bytes.Repeat([]byte(" "), 1<<20+1), status: 413, code: -32054, id: "null"},
	}
	f := newFakeEnvoy(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.open("mcp")
			defer c.close()
			h := mcpHeaders(tc.headers)
			if h["content-type"] == "" {
				delete(h, "content-type")
			}
			r := c.requestHeaders(h, tc.body == nil)
			if tc.body != nil {
				if ir := r.GetImmediateResponse(); ir != nil {
					t.Fatalf("headers answered with an immediate response %d: %s", ir.GetStatus().GetCode(), ir.GetBody())
				}
				r = c.requestBody(tc.body, true)
			}
			ir := r.GetImmediateResponse()
			if tc.status == 0 {
				if ir != nil {
					t.Fatalf("denied %d: %s", ir.GetStatus().GetCode(), ir.GetBody())
				}
				return
			}
			if ir == nil {
				t.Fatalf("allowed, want %d", tc.status)
			}
			if got := int(ir.GetStatus().GetCode()); got != tc.status {
				t.Errorf("status %d, want %d (%s)", got, tc.status, ir.GetBody())
			}
			checkJSONRPCError(t, ir, tc.code, tc.id, tc.rule)
		})
	}
}

// checkJSONRPCError checks an MCP denial: JSON, content-type set, the
// request's id echoed, the code and the deciding rule.
func checkJSONRPCError(t *testing.T, ir *extprocv3.ImmediateResponse, code int, id, rule string) {
	t.Helper()
	var ct string
	for _, h := range ir.GetHeaders().GetSetHeaders() {
		if h.GetHeader().GetKey() == "content-type" {
			ct = string(h.GetHeader().GetRawValue())
		}
	}
	if ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	body := ir.GetBody()
	if !json.Valid(body) {
		t.Fatalf("reply is not JSON: %s", body)
	}
	first := gjson.ParseBytes(body)
	if first.IsArray() {
		first = first.Array()[0]
	}
	if got := first.Get("jsonrpc").String(); got != "2.0" {
		t.Errorf("jsonrpc %q", got)
	}
	if got := first.Get("id").Raw; got != id {
		t.Errorf("id %s, want %s (%s)", got, id, body)
	}
	if got := int(first.Get("error.code").Int()); got != code {
		t.Errorf("code %d, want %d (%s)", got, code, body)
	}
	if rule != "" && first.Get("error.data.rule").String() != rule && !strings.Contains(string(body), rule) {
		t.Errorf("rule %q not in %s", rule, body)
	}
}

func TestAllowSetsRouteAndStripsInternalHeaders(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	r := c.requestHeaders(mcpHeaders(map[string]string{
		"x-agent-id": "code-reviewer", "x-mcp-server": "semgrep",
		"x-agentguard-cluster": "github", // a client trying to pick the cluster itself
		"x-agentguard-agent":   "root",
	}), false)
	set := setHeaders(r)
	if set["x-agentguard-cluster"] != "semgrep" {
		t.Errorf("route header %q, want semgrep", set["x-agentguard-cluster"])
	}
	if set["x-agentguard-agent"] != "code-reviewer" {
		t.Errorf("agent header %q", set["x-agentguard-agent"])
	}
	if !commonOf(r).GetClearRouteCache() {
		t.Error("route cache not cleared after setting the routing header")
	}
	r = c.requestBody([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"semgrep_scan","arguments":{}}}`), true)
	if r.GetImmediateResponse() != nil || r.GetRequestBody() == nil {
		t.Fatalf("want CONTINUE on the body, got %v", r)
	}
	// The default deployment redacts secrets in tool results: the JSON
	// answer to a tools/call is read whole.
	r = c.responseHeaders(map[string]string{":status": "200", "content-type": "application/json"}, false)
	if m := r.GetModeOverride(); m == nil || m.GetResponseBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Errorf("mode_override %v, want response body BUFFERED", m)
	}
}

func TestToolsListFilteredJSON(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	if r := c.requestBody(readTestdata(t, "tools_list.json"), true); r.GetImmediateResponse() != nil {
		t.Fatal("tools/list denied")
	}
	result := readTestdata(t, "tools_list_result.json")
	r := c.responseHeaders(map[string]string{":status": "200", "content-type": "application/json",
		"content-length": fmt.Sprint(len(result))}, false)
	if r.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Fatalf("mode_override %v, want BUFFERED", r.GetModeOverride())
	}
	r = c.responseBody(result, true)
	out := bodyOut(result, r)
	names := gjson.GetBytes(out, "result.tools.#.name").String()
	if names != `["get_pull_request","get_file_contents"]` {
		t.Errorf("tools %s", names)
	}
	if gjson.GetBytes(out, "result.nextCursor").String() != "c2" || !gjson.GetBytes(out, "result.tools.1.x-vendor.keep").Bool() {
		t.Errorf("other members not kept: %s", out)
	}
	if cl := setHeaders(r)["content-length"]; cl != fmt.Sprint(len(out)) {
		t.Errorf("content-length %q, body %d bytes", cl, len(out))
	}
	c.close()
	if got := testutil.ToFloat64(f.metrics.ToolsFiltered.WithLabelValues("github")); got != 2 {
		t.Errorf("tools filtered metric %v, want 2", got)
	}
}

// The SSE response is streamed and split at every offset: the filtered
// stream must be the same wherever the chunks break.
func TestToolsListFilteredSSEAtEverySplit(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	stream := readTestdata(t, "tools_list_result.sse")
	var want []byte
	for split := 0; split <= len(stream); split += 7 {
		c := f.open("mcp")
		c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
		c.requestBody(readTestdata(t, "tools_list.json"), true)
		r := c.responseHeaders(map[string]string{":status": "200", "content-type": "text/event-stream", "content-length": "999"}, false)
		if r.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED {
			t.Fatalf("mode_override %v, want STREAMED", r.GetModeOverride())
		}
		if setHeaders(r)["content-length"] != "<removed>" {
			t.Fatal("content-length kept on a stream whose length may change")
		}
		var out []byte
		a, b := stream[:split], stream[split:]
		out = append(out, bodyOut(a, c.responseBody(a, false))...)
		out = append(out, bodyOut(b, c.responseBody(b, true))...)
		c.close()
		if want == nil {
			want = out
			if !bytes.Contains(out, []byte(`"name":"get_pull_request"`)) || bytes.Contains(out, []byte("delete_repository")) {
				t.Fatalf("not filtered:\n%s", out)
			}
			if !bytes.Contains(out, []byte("notifications/progress")) {
				t.Fatalf("other events lost:\n%s", out)
			}
		} else if !bytes.Equal(out, want) {
			t.Fatalf("split %d: output differs:\n%s\nwant\n%s", split, out, want)
		}
	}
}

// Envoy configured to stream request bodies: agentguard withholds each
// chunk and releases the whole body once it is decided.
func TestStreamedRequestBodyIsHeldBack(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	body := readTestdata(t, "tools_call_get_pr.json")
	c := f.open("mcp")
	c.requestBodyMode = filterv3.ProcessingMode_STREAMED
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	var up []byte
	for i := 0; i < len(body); i += 16 {
		end := min(i+16, len(body))
		r := c.requestBody(body[i:end], end == len(body))
		if r.GetImmediateResponse() != nil {
			t.Fatal("denied")
		}
		up = append(up, bodyOut(body[i:end], r)...)
	}
	if !bytes.Equal(up, body) {
		t.Errorf("upstream got %q", up)
	}

	// A denied streamed body never reaches upstream.
	c2 := f.open("mcp")
	c2.requestBodyMode = filterv3.ProcessingMode_STREAMED
	defer c2.close()
	c2.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	bad := readTestdata(t, "tools_call_delete_repo.json")
	if r := c2.requestBody(bad[:20], false); len(bodyOut(bad[:20], r)) != 0 {
		t.Fatal("first chunk was not withheld")
	}
	if r := c2.requestBody(bad[20:], true); r.GetImmediateResponse() == nil {
		t.Fatal("not denied")
	}
}

func TestOutOfOrderMessagesFailClosed(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	r := c.requestBody([]byte(`{}`), true) // a body before any headers
	ir := r.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 500 {
		t.Fatalf("want a 500 immediate response, got %v", r)
	}
	if got := testutil.ToFloat64(f.metrics.Failures.WithLabelValues("none", "closed")); got != 1 {
		t.Errorf("failures metric %v", got)
	}
}

// Envoy says it will not send the request body (request_body_mode NONE): a
// CONTINUE would let the call reach the server unread, so agentguard fails
// closed at the headers.
func TestRequestBodyModeNoneFailsClosed(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	c.requestBodyMode = filterv3.ProcessingMode_NONE
	defer c.close()
	r := c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	if ir := r.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 500 {
		t.Fatalf("want a 500 at the headers, got %v", r)
	}
}

// An Envoy that sends no protocol_config is asked for a BUFFERED body; if it
// answers with the response anyway, the request was not governed.
func TestResponseBeforeRequestBodyFails(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	c.noProtocolConfig = true
	defer c.close()
	r := c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	if r.GetModeOverride().GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Errorf("did not ask for the request body: %v", r.GetModeOverride())
	}
	r = c.responseHeaders(map[string]string{":status": "200", "content-type": "application/json"}, false)
	if ir := r.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 500 {
		t.Fatalf("want 500, got %v", r)
	}
}

// Envoy cancels a stream (client gone) while others are served; the
// cancelled one is still recorded, once.
func TestCancelMidStreamWhileOthersServe(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "x-request-id": "cancelled-1"}), false)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := f.open("mcp")
			defer o.close()
			o.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
			if r := o.requestBody(readTestdata(t, "tools_call_get_pr.json"), true); r.GetImmediateResponse() != nil {
				t.Errorf("stream %d denied", i)
			}
		}()
		if i == 3 {
			c.cancel()
		}
	}
	wg.Wait()
	waitFor(t, func() bool { return strings.Contains(f.audit.String(), `"request_id":"cancelled-1"`) })
	var rec map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.audit.String()), "\n") {
		if strings.Contains(line, "cancelled-1") {
			if rec != nil {
				t.Fatal("cancelled stream recorded twice")
			}
			_ = json.Unmarshal([]byte(line), &rec)
		}
	}
	if rec["stream_error"] != "canceled" || rec["decision"] != "none" {
		t.Errorf("record %v", rec)
	}
}

// The audit record names decision and rule, and never carries argument
// values of tools not marked loggable.
func TestAuditRecord(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "x-request-id": "audit-1"}), false)
	c.requestBody(readTestdata(t, "tools_call_secret_arg.json"), true)
	c.responseHeaders(map[string]string{":status": "200", "content-type": "application/json"}, false)
	c.close()
	waitFor(t, func() bool { return strings.Contains(f.audit.String(), "audit-1") })
	line := f.audit.String()
	if strings.Contains(line, "ghp_SECRET") {
		t.Fatalf("argument value leaked into the audit log: %s", line)
	}
	for _, want := range []string{`"profile":"mcp"`, `"agent":"code-reviewer"`, `"decision":"allow"`, `"tool":"add_issue_comment"`,
		`"server":"github"`, `"arg_names":["owner","repo","issue_number","body"]`, `"status":200`, `"latency_ms"`} {
		if !strings.Contains(line, want) {
			t.Errorf("audit lacks %s: %s", want, line)
		}
	}
	// get_pull_request is marked loggable in the default deployment.
	c = f.open("mcp")
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "x-request-id": "audit-2"}), false)
	c.requestBody(readTestdata(t, "tools_call_get_pr.json"), true)
	c.close()
	waitFor(t, func() bool { return strings.Contains(f.audit.String(), "audit-2") })
	if !strings.Contains(f.audit.String(), `"arguments":{"owner":"acme","repo":"widgets","pullNumber":42}`) {
		t.Errorf("loggable arguments missing: %s", f.audit.String())
	}
}

// A client's answer to a server request still needs the server granted.
func TestClientResponsesNeedTheServer(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "nobody", "x-mcp-server": "semgrep"}), false)
	r := c.requestBody([]byte(`{"jsonrpc":"2.0","id":"srv-1","result":{"action":"accept"}}`), true)
	if ir := r.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 403 {
		t.Fatalf("want 403, got %v", r)
	}
}

// tools/list results are recognised by shape: on a GET stream (where a
// resumed stream replays earlier answers) they are filtered too.
func TestToolsListFilteredOnGetStream(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	h := mcpHeaders(map[string]string{":method": "GET", "x-agent-id": "code-reviewer", "x-mcp-server": "github", "last-event-id": "1"})
	delete(h, "content-type")
	if r := c.requestHeaders(h, true); r.GetImmediateResponse() != nil {
		t.Fatal("GET denied")
	}
	r := c.responseHeaders(map[string]string{":status": "200", "content-type": "text/event-stream"}, false)
	if r.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED {
		t.Fatalf("GET stream not read: %v", r.GetModeOverride())
	}
	stream := readTestdata(t, "tools_list_result.sse")
	out := bodyOut(stream, c.responseBody(stream, false))
	if bytes.Contains(out, []byte("delete_repository")) || !bytes.Contains(out, []byte("get_pull_request")) {
		t.Fatalf("not filtered:\n%s", out)
	}
}

func TestUnfilterableToolsListResponsesFail(t *testing.T) {
	cases := map[string]map[string]string{
		"compressed":             {":status": "200", "content-type": "application/json", "content-encoding": "gzip"},
		"unexpected type":        {":status": "200", "content-type": "text/plain"},
		"no content-type at all": {":status": "200"},
	}
	f := newFakeEnvoy(t, nil)
	for name, hs := range cases {
		t.Run(name, func(t *testing.T) {
			c := f.open("mcp")
			defer c.close()
			r := c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "accept-encoding": "gzip"}), false)
			if setHeaders(r)["accept-encoding"] != "identity" {
				t.Error("the response is read, but not asked for uncompressed")
			}
			c.requestBody(readTestdata(t, "tools_list.json"), true)
			r = c.responseHeaders(hs, false)
			if ir := r.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 500 {
				t.Fatalf("want 500, got %v", r)
			}
		})
	}
	// An error status carries no tools: it passes.
	c := f.open("mcp")
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	c.requestBody(readTestdata(t, "tools_list.json"), true)
	if r := c.responseHeaders(map[string]string{":status": "404", "content-type": "text/plain"}, false); r.GetImmediateResponse() != nil {
		t.Fatalf("404 refused: %v", r)
	}
}

// A tools/list answered with an id written another way (1 vs 1.0 is refused
// at the request) or under a repeated id is still filtered, by shape.
func TestToolsListFilteredWhateverTheID(t *testing.T) {
	f := newFakeEnvoy(t, nil)
	c := f.open("mcp")
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	c.requestBody(readTestdata(t, "tools_list.json"), true)
	c.responseHeaders(map[string]string{":status": "200", "content-type": "application/json"}, false)
	result := bytes.Replace(readTestdata(t, "tools_list_result.json"), []byte(`"id":2`), []byte(`"id":"other"`), 1)
	out := bodyOut(result, c.responseBody(result, true))
	if bytes.Contains(out, []byte("delete_repository")) {
		t.Fatalf("not filtered: %s", out)
	}
}

// denial_status: 200 answers a denial with the JSON-RPC error in a 2xx, for
// clients that read JSON-RPC errors only there.
func TestDenialStatusOption(t *testing.T) {
	cfg := strings.Replace(string(policies.CodeReview), "      route_header: x-agentguard-cluster\n", "      route_header: x-agentguard-cluster\n      denial_status: 200\n", 1)
	f := newFakeEnvoy(t, []byte(cfg))
	c := f.open("mcp")
	defer c.close()
	c.requestHeaders(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}), false)
	ir := c.requestBody(readTestdata(t, "tools_call_delete_repo.json"), true).GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 200 {
		t.Fatalf("want a 200 denial, got %v", ir)
	}
	checkJSONRPCError(t, ir, -32051, `"del-1"`, "no-destructive-tools")
}

// The ambient overlay's second attachment says, in Envoy's gRPC initial
// metadata, that ext_authz charged the limits; any other value does not.
func TestLimitsChargedMetadata(t *testing.T) {
	for _, c := range []struct {
		md   []string
		want bool
	}{{[]string{LimitsMetadataKey, "charged"}, true}, {[]string{LimitsMetadataKey, "yes"}, false}, {nil, false}} {
		ctx := context.Background()
		if c.md != nil {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(c.md...))
		}
		if got := metaOf(ctx, &extprocv3.ProcessingRequest{}).LimitsCharged; got != c.want {
			t.Errorf("metadata %v: LimitsCharged %v, want %v", c.md, got, c.want)
		}
	}
}
