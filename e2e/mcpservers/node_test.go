package mcpservers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentguard/agentguard/e2e/mcpservers"
)

// These tests run the npm peers; without node they skip (fail under CI).

func TestEverything(t *testing.T) {
	url := mcpservers.StartEverything(t.Context(), t)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url %q is not loopback", url)
	}

	// server-everything answers a POST in SSE, with a session id.
	resp := post(t, url, "", initialize)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("initialize: %d, session %q, type %q", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var sawResult bool
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, `"serverInfo"`) {
			sawResult = true
			break
		}
	}
	if !sawResult {
		t.Error("no initialize result among the SSE events")
	}

	var ex exchanges
	cs := connect(t, url, mcpservers.ConnectOptions{Headers: agentHeaders, OnResponse: ex.observe})
	if cs.ID() == "" {
		t.Error("no Mcp-Session-Id from server-everything")
	}
	names := toolNames(t, cs)
	for _, want := range []string{"echo", "get-sum"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %q: %v", want, names)
		}
	}
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello agentguard"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, res); got != "Echo: hello agentguard" {
		t.Errorf("echo = %q", got)
	}
	for _, ct := range ex.postTypes() {
		if !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("server-everything answered a POST with %q, want SSE", ct)
		}
	}
	if !eventually(func() bool { return ex.find(http.MethodGet, http.StatusOK) }) {
		t.Error("no GET stream answered 200")
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !ex.find(http.MethodDelete, http.StatusOK) {
		t.Error("closing the session sent no DELETE answered 200")
	}
}

// inspectorResult decodes the inspector's stdout.
type inspectorResult struct {
	Tools []struct {
		Name string
	}
	Content []struct {
		Type, Text string
	}
	IsError bool
}

func inspect(t *testing.T, url string, headers map[string]string, args ...string) inspectorResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := mcpservers.Inspector(ctx, t, url, headers, args...)
	if err != nil {
		t.Fatal(err)
	}
	var r inspectorResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("inspector output: %v\n%s", err, out)
	}
	return r
}

func TestInspectorGitHub(t *testing.T) {
	var log mcpservers.CallLog
	addr, err := mcpservers.Serve(t.Context(), mcpservers.GitHub(mcpservers.WithCallLog(&log)), "", mcpservers.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := mcpservers.URL(addr)
	headers := map[string]string{"x-agent-id": "triage-bot", "x-mcp-server": "github"}

	r := inspect(t, url, headers, "--method", "tools/list")
	var names []string
	for _, tool := range r.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Equal(names, mcpservers.GitHubTools) {
		t.Errorf("inspector tools/list = %v", names)
	}

	log.Reset()
	r = inspect(t, url, headers, "--method", "tools/call", "--tool-name", "get_issue",
		"--tool-arg", "owner=acme", "repo=api", "issue_number=7")
	if r.IsError || len(r.Content) != 1 {
		t.Fatalf("tools/call: %+v", r)
	}
	// issue_number=7 was converted to a number with the tool's schema.
	want := mcpservers.CallLine("github", "get_issue", map[string]any{"owner": "acme", "repo": "api", "issue_number": 7})
	if firstLine(r.Content[0].Text) != want {
		t.Errorf("first line %q, want %q", firstLine(r.Content[0].Text), want)
	}
	calls := log.ToolCalls("get_issue")
	if len(calls) != 1 {
		t.Fatalf("server saw %v", log.Methods())
	}
	if calls[0].Header.Get("x-agent-id") != "triage-bot" || calls[0].Header.Get("x-mcp-server") != "github" {
		t.Errorf("inspector's headers did not arrive: %v", calls[0].Header)
	}
	// The inspector lists tools before it calls one.
	if m := log.Methods(); !slices.Equal(m, []string{"initialize", "notifications/initialized", "tools/list", "tools/call"}) {
		t.Errorf("server saw %v", m)
	}
}

func TestInspectorEverything(t *testing.T) {
	url := mcpservers.StartEverything(t.Context(), t)
	r := inspect(t, url, agentHeaders, "--method", "tools/list")
	var names []string
	for _, tool := range r.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "echo") {
		t.Errorf("inspector tools/list = %v", names)
	}
	r = inspect(t, url, agentHeaders, "--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=2", "b=3")
	if r.IsError || len(r.Content) == 0 || !strings.Contains(r.Content[0].Text, "5") {
		t.Errorf("get-sum: %+v", r)
	}
}

// A JSON-RPC error answer (what a denial looks like to a client) makes the
// inspector exit non-zero; Inspector returns it as an error with the message.
func TestInspectorError(t *testing.T) {
	addr, err := mcpservers.Serve(t.Context(), mcpservers.GitHub(), "", mcpservers.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mcpservers.Inspector(t.Context(), t, mcpservers.URL(addr), nil,
		"--method", "tools/call", "--tool-name", "no_such_tool")
	if err == nil || !strings.Contains(err.Error(), "no_such_tool") || !strings.Contains(err.Error(), "MCP error") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("%v", err)
}

func TestEverythingStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	url := mcpservers.StartEverything(ctx, t)
	cancel()
	stopped := eventually(func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	if !stopped {
		t.Error("server-everything still answers after its context ended")
	}
}
