package mcpservers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentguard/agentguard/e2e/mcpservers"
)

var agentHeaders = map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}

// serve serves s on a free loopback port until the test ends.
func serve(t *testing.T, s *mcp.Server, opts mcpservers.ServeOptions) string {
	t.Helper()
	addr, err := mcpservers.Serve(t.Context(), s, "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	return mcpservers.URL(addr)
}

func connect(t *testing.T, url string, opts mcpservers.ConnectOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cs, err := mcpservers.ConnectWith(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("content has %d items, want 1", len(res.Content))
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content is %T, want text", res.Content[0])
	}
	return tc.Text
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestGitHub(t *testing.T) {
	var log mcpservers.CallLog
	url := serve(t, mcpservers.GitHub(mcpservers.WithCallLog(&log)), mcpservers.ServeOptions{})
	cs := connect(t, url, mcpservers.ConnectOptions{Headers: agentHeaders})

	if cs.ID() == "" {
		t.Error("stateful server gave no Mcp-Session-Id")
	}
	if got := toolNames(t, cs); !slices.Equal(got, mcpservers.GitHubTools) {
		t.Errorf("tools/list = %v\nwant %v", got, mcpservers.GitHubTools)
	}

	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		if tool.Name != "get_pull_request" {
			continue
		}
		schema, _ := json.Marshal(tool.InputSchema)
		var s struct {
			Properties map[string]struct{ Type string }
			Required   []string
		}
		if err := json.Unmarshal(schema, &s); err != nil {
			t.Fatal(err)
		}
		if s.Properties["pullNumber"].Type != "number" || !slices.Equal(s.Required, []string{"owner", "repo", "pullNumber"}) {
			t.Errorf("get_pull_request schema = %s", schema)
		}
	}

	args := map[string]any{"owner": "acme", "repo": "api", "pullNumber": 42}
	got, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "get_pull_request", Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	out := text(t, got)
	if want := `github/get_pull_request {"owner":"acme","pullNumber":42,"repo":"api"}`; firstLine(out) != want {
		t.Errorf("first line = %q, want %q", firstLine(out), want)
	}
	if firstLine(out) != mcpservers.CallLine("github", "get_pull_request", args) {
		t.Errorf("first line %q != CallLine", firstLine(out))
	}
	if !strings.Contains(out, `"html_url": "https://github.com/acme/api/pull/42"`) {
		t.Errorf("payload lacks the PR url:\n%s", out)
	}

	calls := log.ToolCalls("get_pull_request")
	if len(calls) != 1 {
		t.Fatalf("log has %d get_pull_request calls, want 1: %v", len(calls), log.Methods())
	}
	c := calls[0]
	if string(c.Arguments) != `{"owner":"acme","pullNumber":42,"repo":"api"}` {
		t.Errorf("logged arguments = %s", c.Arguments)
	}
	if c.Header.Get("x-agent-id") != "code-reviewer" || c.Header.Get("x-mcp-server") != "github" {
		t.Errorf("logged headers lack the client's: %v", c.Header)
	}
	if c.SessionID != cs.ID() || c.Server != "github" {
		t.Errorf("logged session %q server %q, want %q github", c.SessionID, c.Server, cs.ID())
	}
	if m := log.Methods(); !slices.Contains(m, "initialize") || !slices.Contains(m, "tools/list") {
		t.Errorf("log methods = %v, want initialize and tools/list too", m)
	}

	// A missing required argument is a tool error, as GitHub's server gives.
	bad, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "get_issue", Arguments: map[string]any{"owner": "acme", "repo": "api"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bad.IsError || !strings.Contains(text(t, bad), `"issue_number"`) {
		t.Errorf("get_issue without issue_number: isError=%v %q", bad.IsError, text(t, bad))
	}
	// An unknown tool is a JSON-RPC error; the call still reached the server.
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "no_such_tool", Arguments: map[string]any{}}); err == nil {
		t.Error("unknown tool: no error")
	}
	if len(log.ToolCalls("no_such_tool")) != 1 {
		t.Error("unknown tool call not logged")
	}
	log.Reset()
	if log.Len() != 0 {
		t.Error("Reset left calls")
	}
}

func TestGitHubFakes(t *testing.T) {
	url := serve(t, mcpservers.GitHub(), mcpservers.ServeOptions{})
	cs := connect(t, url, mcpservers.ConnectOptions{})
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string // in the payload
	}{
		{"get_pull_request_files", map[string]any{"owner": "acme", "repo": "api", "pullNumber": 42}, `"filename": "pkg/server/handler.go"`},
		{"get_file_contents", map[string]any{"owner": "acme", "repo": "api", "path": ".env"}, mcpservers.FakeAWSKeyID},
		{"get_file_contents", map[string]any{"owner": "acme", "repo": "api", "path": "main.go", "ref": "refs/heads/dev"}, `main.go in acme/api at refs/heads/dev`},
		{"list_repositories", map[string]any{"owner": "acme"}, `"full_name": "acme/web"`},
		{"create_pull_request_review", map[string]any{"owner": "acme", "repo": "api", "pullNumber": 42, "event": "COMMENT", "body": "lgtm"}, `"state": "COMMENTED"`},
		{"add_issue_comment", map[string]any{"owner": "acme", "repo": "api", "issue_number": 7, "body": "thanks"}, `issuecomment-5007`},
		{"list_issues", map[string]any{"owner": "acme", "repo": "api", "state": "OPEN"}, `"number": 8`},
		{"get_issue", map[string]any{"owner": "acme", "repo": "api", "issue_number": 7}, `"html_url": "https://github.com/acme/api/issues/7"`},
		{"create_issue", map[string]any{"owner": "acme", "repo": "api", "title": "Bug"}, `"title": "Bug"`},
		{"delete_repository", map[string]any{"owner": "acme", "repo": "api"}, `nothing was deleted`},
		{"delete_file", map[string]any{"owner": "acme", "repo": "api", "path": "a.go", "message": "rm", "branch": "main"}, `"message": "rm"`},
		{"list_secret_scanning_alerts", map[string]any{"owner": "acme", "repo": "api"}, `aws_access_key_id`},
		{"list_pull_requests", map[string]any{"owner": "acme", "repo": "api"}, `"number": 42`},
		{"create_pull_request", map[string]any{"owner": "acme", "repo": "api", "title": "T", "head": "f", "base": "main"}, `"number": 43`},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, res)
			if res.IsError {
				t.Fatalf("tool error: %s", out)
			}
			if firstLine(out) != mcpservers.CallLine("github", tc.tool, tc.args) {
				t.Errorf("first line %q", firstLine(out))
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("result lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestSemgrep(t *testing.T) {
	var log mcpservers.CallLog
	url := serve(t, mcpservers.Semgrep(mcpservers.WithCallLog(&log)), mcpservers.ServeOptions{})
	cs := connect(t, url, mcpservers.ConnectOptions{Headers: map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "semgrep"}})
	if got := toolNames(t, cs); !slices.Equal(got, mcpservers.SemgrepTools) {
		t.Errorf("tools/list = %v, want %v", got, mcpservers.SemgrepTools)
	}
	files := []any{map[string]any{"filename": "app.py", "content": "import os\nx = eval(input())\npassword = 'hunter2'\n"}}
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "semgrep_scan", Arguments: map[string]any{"code_files": files}})
	if err != nil {
		t.Fatal(err)
	}
	out := text(t, res)
	if !strings.HasPrefix(out, "semgrep/semgrep_scan ") {
		t.Errorf("first line %q", firstLine(out))
	}
	_, payload, _ := strings.Cut(out, "\n")
	var scan struct {
		Results []struct {
			CheckID string `json:"check_id"`
			Path    string
			Start   struct{ Line int }
		}
	}
	if err := json.Unmarshal([]byte(payload), &scan); err != nil {
		t.Fatalf("payload: %v\n%s", err, payload)
	}
	if len(scan.Results) != 2 || scan.Results[0].Start.Line != 2 || scan.Results[1].Start.Line != 3 || scan.Results[0].Path != "app.py" {
		t.Errorf("findings = %+v", scan.Results)
	}

	res, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "security_check", Arguments: map[string]any{"code_files": []any{map[string]any{"filename": "ok.go", "content": "package ok\n"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if out := text(t, res); !strings.Contains(out, "No security issues found") {
		t.Errorf("security_check on clean code: %s", out)
	}
	if n := len(log.ToolCalls("")); n != 2 {
		t.Errorf("log has %d tool calls, want 2", n)
	}
}

// exchanges records the HTTP exchanges a client makes.
type exchanges struct {
	mu  sync.Mutex
	all []exchange
}

type exchange struct {
	method, contentType, sessionID string
	status                         int
}

func (e *exchanges) observe(resp *http.Response) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, exchange{
		method:      resp.Request.Method,
		contentType: resp.Header.Get("Content-Type"),
		sessionID:   resp.Request.Header.Get("Mcp-Session-Id"),
		status:      resp.StatusCode,
	})
}

func (e *exchanges) find(method string, status int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.all {
		if x.method == method && x.status == status {
			return true
		}
	}
	return false
}

func (e *exchanges) postTypes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, x := range e.all {
		if x.method == http.MethodPost && x.status == http.StatusOK {
			out = append(out, x.contentType)
		}
	}
	return out
}

// eventually polls cond for up to 10s (the client opens its GET stream in
// the background).
func eventually(cond func() bool) bool {
	for range 200 {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func TestServeModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mcpservers.ServeOptions
		// protocol the client asks for; "" is the go-sdk default.
		protocol string
		wantType string
	}{
		{"stateful SSE", mcpservers.ServeOptions{}, "", "text/event-stream"},
		{"stateful JSON", mcpservers.ServeOptions{JSONResponse: true}, "", "application/json"},
		{"stateful SSE 2025-11-25", mcpservers.ServeOptions{}, "2025-11-25", "text/event-stream"},
		{"stateless SSE", mcpservers.ServeOptions{Stateless: true}, "", "text/event-stream"},
		{"stateless JSON", mcpservers.ServeOptions{Stateless: true, JSONResponse: true}, "", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log mcpservers.CallLog
			url := serve(t, mcpservers.GitHub(mcpservers.WithCallLog(&log)), tc.opts)
			var ex exchanges
			cs := connect(t, url, mcpservers.ConnectOptions{Headers: agentHeaders, ProtocolVersion: tc.protocol, OnResponse: ex.observe})

			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "get_issue", Arguments: map[string]any{"owner": "acme", "repo": "api", "issue_number": 7}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(text(t, res), "github/get_issue ") {
				t.Errorf("result %q", text(t, res))
			}
			ex.mu.Lock()
			t.Logf("exchanges %+v; server saw %v", ex.all, log.Methods())
			ex.mu.Unlock()
			types := ex.postTypes()
			if len(types) == 0 {
				t.Fatal("no successful POST seen")
			}
			for _, ct := range types {
				if !strings.HasPrefix(ct, tc.wantType) {
					t.Errorf("POST answered %q, want %s (all: %v)", ct, tc.wantType, types)
				}
			}
			if tc.opts.Stateless {
				if cs.ID() != "" {
					t.Errorf("stateless session id %q", cs.ID())
				}
				return
			}
			if cs.ID() == "" {
				t.Fatal("no Mcp-Session-Id")
			}
			if !eventually(func() bool { return ex.find(http.MethodGet, http.StatusOK) }) {
				t.Error("the client's standalone GET stream was not answered 200")
			}
			if err := cs.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if !ex.find(http.MethodDelete, http.StatusNoContent) {
				t.Error("closing the session sent no DELETE answered 204")
			}
		})
	}
}

// post sends one JSON-RPC message as a Streamable HTTP POST.
func post(t *testing.T, url, session, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestSessionOnTheWire drives a stateful session by hand: what an e2e test
// through the chain will check header by header.
func TestSessionOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     mcpservers.ServeOptions
		wantType string
	}{
		{"SSE", mcpservers.ServeOptions{}, "text/event-stream"},
		{"JSON", mcpservers.ServeOptions{JSONResponse: true}, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, mcpservers.GitHub(), tc.opts)
			resp := post(t, url, "", initialize)
			sid := resp.Header.Get("Mcp-Session-Id")
			if resp.StatusCode != http.StatusOK || sid == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
				t.Fatalf("initialize: %d, session %q, type %q", resp.StatusCode, sid, resp.Header.Get("Content-Type"))
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), `"serverInfo":{"name":"github-mcp-server"`) {
				t.Errorf("initialize body: %s", body)
			}
			if r := post(t, url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); r.StatusCode != http.StatusAccepted {
				t.Errorf("notifications/initialized: %d, want 202", r.StatusCode)
			}
			r := post(t, url, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repository","arguments":{"owner":"acme","repo":"api"}}}`)
			body, _ = io.ReadAll(r.Body)
			if r.StatusCode != http.StatusOK || !strings.Contains(string(body), `github/delete_repository {\"owner\":\"acme\",\"repo\":\"api\"}`) {
				t.Errorf("tools/call: %d %s", r.StatusCode, body)
			}

			// GET opens the standalone stream: headers arrive, the body stays open.
			ctx, cancel := context.WithCancel(t.Context())
			get, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			get.Header.Set("Accept", "text/event-stream")
			get.Header.Set("Mcp-Session-Id", sid)
			get.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			gr, err := http.DefaultClient.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			if gr.StatusCode != http.StatusOK || !strings.HasPrefix(gr.Header.Get("Content-Type"), "text/event-stream") {
				t.Errorf("GET stream: %d %q", gr.StatusCode, gr.Header.Get("Content-Type"))
			}
			cancel()
			gr.Body.Close()

			del, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, url, nil)
			del.Header.Set("Mcp-Session-Id", sid)
			dr, err := http.DefaultClient.Do(del)
			if err != nil {
				t.Fatal(err)
			}
			dr.Body.Close()
			if dr.StatusCode != http.StatusNoContent {
				t.Errorf("DELETE: %d, want 204", dr.StatusCode)
			}
			if r := post(t, url, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`); r.StatusCode != http.StatusNotFound {
				t.Errorf("after DELETE: %d, want 404", r.StatusCode)
			}
		})
	}
}

func TestServeLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:80"} {
		if _, err := mcpservers.Serve(t.Context(), mcpservers.GitHub(), addr, mcpservers.ServeOptions{}); err == nil {
			t.Errorf("Serve(%q) accepted a non-loopback address", addr)
		}
	}
}

func TestServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addr, err := mcpservers.Serve(ctx, mcpservers.GitHub(), "", mcpservers.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := mcpservers.URL(addr)
	cs := connect(t, url, mcpservers.ConnectOptions{MaxRetries: -1})
	cancel()
	ok := eventually(func() bool {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initialize))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	if !ok {
		t.Fatal("server still answers after its context ended")
	}
	_, err = cs.ListTools(t.Context(), nil)
	if err == nil {
		t.Error("session still works after the server stopped")
	}
}
