package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/policy"
)

const defaultCost = 100_000

// deny, require and allow build CEL rules for a test profile.
func deny(id, when string) config.Policy {
	return config.Policy{ID: id, Effect: "deny", When: when, Message: id + " says no"}
}

func require(id, when string) config.Policy {
	return config.Policy{ID: id, Effect: "require", When: when, Message: id + " not met"}
}

func allow(id, when string) config.Policy {
	return config.Policy{ID: id, Effect: "allow", When: when}
}

// testMCP is the tool section of the MCP test profile.
func testMCP() *config.MCP {
	return &config.MCP{
		Servers: []config.MCPServer{{Name: "github", Cluster: "c1"}, {Name: "semgrep", Cluster: "c2"}},
		Tools: []config.ToolRule{
			{ID: "no-deletes", Server: "*", Deny: []string{"delete_*"}},
			{ID: "reviewers-github", Groups: []string{"reviewers"}, Server: "github", Allow: []string{"get_pull_request", "create_review"}},
		},
	}
}

func compileSet(t testing.TB, mcp *config.MCP, cost uint64, pols ...config.Policy) *policy.Set {
	t.Helper()
	env, err := policy.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	p := &config.Profile{Name: "web", Protocol: "http", MCP: mcp, Policies: pols}
	if mcp != nil {
		p.Name, p.Protocol = "tools", "mcp"
	}
	s, es := policy.Compile(env, p, "profiles[0]", cost)
	if len(es) > 0 {
		t.Fatalf("compile: %v", es)
	}
	return s
}

var reviewer = policy.Agent{Name: "rita", Groups: []string{"reviewers"}, SPIFFE: "spiffe://example.org/sa/rita", Source: "xfcc", Authenticated: true}

func httpIn(path string) *policy.Input {
	return &policy.Input{Profile: "web", Protocol: "http", Agent: reviewer, Request: policy.Request{Method: "POST", Path: path, Host: "api.example.org", ID: "req-1"}}
}

func callIn(server, tool, args string) *policy.Input {
	in := &policy.Input{
		Profile: "tools", Protocol: "mcp", Agent: reviewer,
		Request: policy.Request{Method: "POST", Path: "/mcp"},
		MCP:     &policy.MCP{Method: "tools/call", ID: "1", Server: server, Tool: tool},
	}
	if args != "" {
		in.MCP.Arguments = []byte(args)
	}
	return in
}

// The comprehension-heavy rule: 1,000 innermost evaluations.
const heavy = `[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, [1,2,3,4,5,6,7,8,9,10].all(z, x+y+z > 0)))`

func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		mcp     *config.MCP // nil: an http profile
		cost    uint64      // 0: defaultCost
		rules   []config.Policy
		in      *policy.Input
		want    policy.Decision
		wantErr string // substring of EvalErr; the decision must deny by the failing rule
	}{
		{name: "no rules allows", in: httpIn("/"), want: policy.Decision{Allow: true}},

		// deny: true denies with the rule's id and message.
		{name: "deny true", rules: []config.Policy{deny("no-admin", `request.path == "/admin"`)},
			in: httpIn("/admin"), want: policy.Decision{Rule: "no-admin", Message: "no-admin says no"}},
		{name: "deny false", rules: []config.Policy{deny("no-admin", `request.path == "/admin"`)},
			in: httpIn("/home"), want: policy.Decision{Allow: true}},
		{name: "deny without message", rules: []config.Policy{{ID: "quiet", Effect: "deny", When: "true"}},
			in: httpIn("/"), want: policy.Decision{Rule: "quiet", Message: "denied by policy quiet"}},

		// require: false denies.
		{name: "require false", rules: []config.Policy{require("authn", `agent.authenticated && request.method == "GET"`)},
			in: httpIn("/"), want: policy.Decision{Rule: "authn", Message: "authn not met"}},
		{name: "require true", rules: []config.Policy{require("authn", `agent.authenticated`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},

		// allow: where allow rules exist, one must be true.
		{name: "allow one matches", rules: []config.Policy{
			allow("api", `request.path.startsWith("/api/")`),
			allow("health", `request.path == "/healthz"`),
		}, in: httpIn("/healthz"), want: policy.Decision{Allow: true, Rule: "health"}},
		{name: "allow first match wins", rules: []config.Policy{
			allow("api", `request.path.startsWith("/api/")`),
			allow("any", `true`),
		}, in: httpIn("/api/x"), want: policy.Decision{Allow: true, Rule: "api"}},
		{name: "allow none matches", rules: []config.Policy{
			allow("api", `request.path.startsWith("/api/")`),
			allow("health", `request.path == "/healthz"`),
		}, in: httpIn("/admin"), want: policy.Decision{Rule: policy.RuleNoAllowMatched, Message: "no allow rule matched"}},
		{name: "allow matched, later require still applies", rules: []config.Policy{
			allow("any", `true`),
			require("get-only", `request.method == "GET"`),
		}, in: httpIn("/"), want: policy.Decision{Rule: "get-only", Message: "get-only not met"}},
		{name: "allow matched, later allow not evaluated", rules: []config.Policy{
			allow("any", `true`),
			allow("broken", `mcp.tool.arguments.missing == 1`),
		}, in: callIn("github", "get_pull_request", `{}`), mcp: testMCP(),
			want: policy.Decision{Allow: true, Rule: "any"}},

		// findings: what inspection found, never the value.
		{name: "findings deny on a rule", rules: []config.Policy{
			deny("no-ssn", `findings.exists(f, f.detector == "pii" && f.rule == "us_ssn")`),
		}, in: withFindings(httpIn("/"), policy.Finding{Detector: "pii", Rule: "us_ssn", Severity: "high", Action: "log"}),
			want: policy.Decision{Rule: "no-ssn", Message: "no-ssn says no"}},
		{name: "findings by severity and score", rules: []config.Policy{
			deny("risky", `findings.exists(f, f.severity in ["high", "critical"] && f.score > 0.8)`),
		}, in: withFindings(httpIn("/"), policy.Finding{Detector: "injection", Rule: "model", Severity: "medium", Score: 0.9}),
			want: policy.Decision{Allow: true}},
		{name: "no findings is an empty list", rules: []config.Policy{
			require("clean", `size(findings) == 0`),
		}, in: httpIn("/"), want: policy.Decision{Allow: true}},

		// Rules are evaluated in order, and the first denial ends evaluation.
		{name: "first deny wins", rules: []config.Policy{
			deny("first", `true`),
			deny("second", `true`),
		}, in: httpIn("/"), want: policy.Decision{Rule: "first", Message: "first says no"}},
		{name: "require before deny", rules: []config.Policy{
			require("first", `false`),
			deny("second", `true`),
		}, in: httpIn("/"), want: policy.Decision{Rule: "first", Message: "first not met"}},
		{name: "denial stops before a failing rule", rules: []config.Policy{
			deny("first", `true`),
			deny("broken", `mcp.tool.arguments.missing == 1`),
		}, in: callIn("github", "get_pull_request", `{}`), mcp: testMCP(),
			want: policy.Decision{Rule: "first", Message: "first says no"}},
		{name: "failing rule before a denial", rules: []config.Policy{
			deny("broken", `mcp.tool.arguments.missing == 1`),
			deny("second", `true`),
		}, in: callIn("github", "get_pull_request", `{}`), mcp: testMCP(),
			wantErr: "rule broken: no such key: missing"},

		// MCP built-ins come before CEL: a failing rule is never reached.
		{name: "server not allowed", mcp: testMCP(), rules: []config.Policy{deny("broken", `mcp.tool.arguments.missing == 1`)},
			in:   callIn("semgrep", "semgrep_scan", `{}`),
			want: policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "semgrep"`}},
		{name: "server not allowed, not a call", mcp: testMCP(),
			in:   func() *policy.Input { in := callIn("semgrep", "", ""); in.MCP.Method = "tools/list"; return in }(),
			want: policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "semgrep"`}},
		{name: "server unknown", mcp: testMCP(), in: callIn("gitlab", "get_pull_request", ``),
			want: policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "gitlab"`}},
		{name: "tool not allowed", mcp: testMCP(), rules: []config.Policy{deny("broken", `mcp.tool.arguments.missing == 1`)},
			in:   callIn("github", "list_issues", `{}`),
			want: policy.Decision{Rule: policy.RuleToolNotAllowed, Message: "tool not allowed for this agent"}},
		{name: "tool denied", mcp: testMCP(), rules: []config.Policy{deny("broken", `mcp.tool.arguments.missing == 1`)},
			in:   callIn("github", "Delete_Repo", `{}`),
			want: policy.Decision{Rule: "no-deletes", Message: "tool not allowed for this agent"}},
		{name: "tool look-alike not allowed", mcp: testMCP(), in: callIn("github", "get_pull_r\u0435quest", `{}`),
			want: policy.Decision{Rule: policy.RuleToolNotAllowed, Message: "tool not allowed for this agent"}},
		{name: "tool granted, no rules", mcp: testMCP(), in: callIn("github", "get_pull_request", `{}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "tool granted, rules pass", mcp: testMCP(), rules: []config.Policy{deny("never", `false`)},
			in:   callIn("github", "get_pull_request", `{}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "tool granted, allow rule names itself", mcp: testMCP(), rules: []config.Policy{allow("reviews", `mcp.tool.name == "get_pull_request"`)},
			in:   callIn("github", "get_pull_request", `{}`),
			want: policy.Decision{Allow: true, Rule: "reviews"}},
		{name: "not a call: no tool check", mcp: testMCP(),
			in:   func() *policy.Input { in := callIn("github", "", ""); in.MCP.Method = "tools/list"; return in }(),
			want: policy.Decision{Allow: true}},
		{name: "no server named: only the call is checked", mcp: testMCP(), in: callIn("", "get_pull_request", `{}`),
			want: policy.Decision{Rule: policy.RuleToolNotAllowed, Message: "tool not allowed for this agent"}},

		// CEL over tool arguments: nested values, numbers, optionals.
		{name: "args nested value", mcp: testMCP(), rules: []config.Policy{deny("deep", `mcp.tool.arguments.options.depth > 2`)},
			in:   callIn("github", "create_review", `{"options":{"depth":3,"mode":"full"}}`),
			want: policy.Decision{Rule: "deep", Message: "deep says no"}},
		{name: "args nested value, below", mcp: testMCP(), rules: []config.Policy{deny("deep", `mcp.tool.arguments.options.depth > 2`)},
			in:   callIn("github", "create_review", `{"options":{"depth":2}}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "args JSON number equals int", mcp: testMCP(), rules: []config.Policy{require("pr-one", `mcp.tool.arguments.pullNumber == 1`)},
			in:   callIn("github", "get_pull_request", `{"pullNumber":1}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "args JSON number compared with int", mcp: testMCP(), rules: []config.Policy{deny("big", `mcp.tool.arguments.pullNumber >= 1000`)},
			in:   callIn("github", "get_pull_request", `{"pullNumber":1000.0}`),
			want: policy.Decision{Rule: "big", Message: "big says no"}},
		{name: "args list", mcp: testMCP(), rules: []config.Policy{deny("sec", `mcp.tool.arguments.labels.exists(l, l == "security")`)},
			in:   callIn("github", "create_review", `{"labels":["bug","security"]}`),
			want: policy.Decision{Rule: "sec", Message: "sec says no"}},
		{name: "args string function", mcp: testMCP(), rules: []config.Policy{deny("approve", `mcp.tool.arguments.event.lowerAscii() == "approve"`)},
			in:   callIn("github", "create_review", `{"event":"Approve"}`),
			want: policy.Decision{Rule: "approve", Message: "approve says no"}},
		{name: "args optional absent", mcp: testMCP(), rules: []config.Policy{require("x-is-1", `mcp.tool.arguments.?x.orValue(1) == 1`)},
			in:   callIn("github", "create_review", `{"y":2}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "args optional present", mcp: testMCP(), rules: []config.Policy{require("x-is-1", `mcp.tool.arguments.?x.orValue(1) == 1`)},
			in:   callIn("github", "create_review", `{"x":2}`),
			want: policy.Decision{Rule: "x-is-1", Message: "x-is-1 not met"}},
		{name: "args optional nested", mcp: testMCP(), rules: []config.Policy{deny("force", `mcp.tool.arguments.?options.?force.orValue(false) == true`)},
			in:   callIn("github", "create_review", `{"options":{"force":true}}`),
			want: policy.Decision{Rule: "force", Message: "force says no"}},
		{name: "args has()", mcp: testMCP(), rules: []config.Policy{require("has-x", `has(mcp.tool.arguments.x)`)},
			in:   callIn("github", "create_review", `{"x":null}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "args absent read as empty", mcp: testMCP(), rules: []config.Policy{require("empty", `mcp.tool.arguments.size() == 0 && !("x" in mcp.tool.arguments)`)},
			in:   callIn("github", "create_review", ``),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "args missing key is an error", mcp: testMCP(), rules: []config.Policy{deny("strict", `mcp.tool.arguments.missing == 1`)},
			in: callIn("github", "create_review", `{"present":1}`), wantErr: "rule strict: no such key: missing"},
		{name: "dyn rule with a non-bool value is an error", mcp: testMCP(), rules: []config.Policy{deny("flag", `mcp.tool.arguments.flag`)},
			in: callIn("github", "create_review", `{"flag":"yes"}`), wantErr: "rule flag"},
		{name: "dyn rule with a bool value", mcp: testMCP(), rules: []config.Policy{deny("flag", `mcp.tool.arguments.flag`)},
			in:   callIn("github", "create_review", `{"flag":true}`),
			want: policy.Decision{Rule: "flag", Message: "flag says no"}},
		{name: "mcp fields", mcp: testMCP(), rules: []config.Policy{require("fields",
			`mcp.method == "tools/call" && mcp.server == "github" && mcp.tool.name == "create_review" && mcp.id == "1" && !mcp.batch && mcp.resource.uri == ""`)},
			in:   callIn("github", "create_review", `{}`),
			want: policy.Decision{Allow: true, Rule: "reviewers-github"}},
		{name: "mcp outside an MCP profile reads empty", rules: []config.Policy{require("empty", `mcp.method == "" && mcp.tool.name == "" && mcp.tool.arguments.size() == 0`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},

		// request, agent and profile variables.
		{name: "request header", rules: []config.Policy{require("tenant", `request.headers["x-tenant"] == "acme"`)},
			in: func() *policy.Input {
				in := httpIn("/")
				in.Request.Headers = func() map[string]string { return map[string]string{"x-tenant": "acme"} }
				return in
			}(), want: policy.Decision{Allow: true}},
		{name: "request header, other value", rules: []config.Policy{require("tenant", `request.headers["x-tenant"] == "acme"`)},
			in: func() *policy.Input {
				in := httpIn("/")
				in.Request.Headers = func() map[string]string { return map[string]string{"x-tenant": "evil"} }
				return in
			}(), want: policy.Decision{Rule: "tenant", Message: "tenant not met"}},
		{name: "request header absent, no header func", rules: []config.Policy{deny("tenant", `"x-tenant" in request.headers`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},
		{name: "request headers nil map", rules: []config.Policy{require("none", `request.headers.size() == 0`)},
			in: func() *policy.Input {
				in := httpIn("/")
				in.Request.Headers = func() map[string]string { return nil }
				return in
			}(), want: policy.Decision{Allow: true}},
		{name: "request headers iterated", rules: []config.Policy{deny("debug", `request.headers.exists(k, k.startsWith("x-debug-"))`)},
			in: func() *policy.Input {
				in := httpIn("/")
				in.Request.Headers = func() map[string]string { return map[string]string{"accept": "*/*", "x-debug-trace": "1"} }
				return in
			}(), want: policy.Decision{Rule: "debug", Message: "debug says no"}},
		{name: "request fields", rules: []config.Policy{require("req",
			`request.method == "POST" && request.path == "/v1" && request.host == "api.example.org" && request.id == "req-1"`)},
			in: httpIn("/v1"), want: policy.Decision{Allow: true}},
		{name: "agent group member", rules: []config.Policy{require("reviewers", `"reviewers" in agent.groups`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},
		{name: "agent group not member", rules: []config.Policy{require("admins", `"admins" in agent.groups`)},
			in: httpIn("/"), want: policy.Decision{Rule: "admins", Message: "admins not met"}},
		{name: "agent without groups", rules: []config.Policy{require("none", `agent.groups.size() == 0 && agent.name == "" && !agent.authenticated`)},
			in: &policy.Input{Profile: "web", Protocol: "http"}, want: policy.Decision{Allow: true}},
		{name: "agent fields", rules: []config.Policy{require("who",
			`agent.name == "rita" && agent.spiffe == "spiffe://example.org/sa/rita" && agent.source == "xfcc"`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},
		{name: "profile fields", rules: []config.Policy{require("prof", `profile.name == "web" && profile.protocol == "http"`)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},

		// Evaluation limits are errors, not denials.
		{name: "cost limit", cost: 10, rules: []config.Policy{deny("heavy", heavy)},
			in: httpIn("/"), wantErr: "rule heavy: operation cancelled: actual cost limit exceeded"},
		{name: "within the default cost limit", rules: []config.Policy{require("heavy", heavy)},
			in: httpIn("/"), want: policy.Decision{Allow: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cost := tt.cost
			if cost == 0 {
				cost = defaultCost
			}
			s := compileSet(t, tt.mcp, cost, tt.rules...)
			got, err := s.Decide(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if tt.wantErr != "" {
				// A rule that fails denies, naming itself: failing open on
				// it would let a client pass by making it fail.
				if got.Allow || got.EvalErr == nil || !strings.Contains(got.EvalErr.Error(), tt.wantErr) ||
					!strings.Contains(tt.wantErr, "rule "+got.Rule) {
					t.Fatalf("Decide = %+v, want a denial by the failing rule with EvalErr containing %q", got, tt.wantErr)
				}
				return
			}
			if got.Allow != tt.want.Allow || got.Rule != tt.want.Rule || got.Message != tt.want.Message || got.EvalErr != nil {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideCancelledContext(t *testing.T) {
	s := compileSet(t, nil, defaultCost, require("heavy", heavy))
	// The rule is fine with a live context.
	if d, err := s.Decide(context.Background(), httpIn("/")); err != nil || !d.Allow {
		t.Fatalf("live context: %+v, %v", d, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := s.Decide(ctx, httpIn("/"))
	if err != nil || d.Allow || d.Rule != "heavy" || d.EvalErr == nil {
		t.Fatalf("cancelled context: decision %+v, %v; want a denial by rule heavy", d, err)
	}
}

// TestDecideHeadersLazily checks the header map is built only when a rule
// reads it, and once per decision however many rules do.
func TestDecideHeadersLazily(t *testing.T) {
	tests := []struct {
		name  string
		rules []config.Policy
		calls int
	}{
		{"no rule reads headers", []config.Policy{require("path", `request.path == "/"`)}, 0},
		{"one rule", []config.Policy{require("a", `"x-a" in request.headers`)}, 1},
		{"two rules", []config.Policy{require("a", `"x-a" in request.headers`), deny("b", `"x-b" in request.headers`)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compileSet(t, nil, defaultCost, tt.rules...)
			calls := 0
			in := httpIn("/")
			in.Request.Headers = func() map[string]string { calls++; return map[string]string{"x-a": "1"} }
			d, err := s.Decide(context.Background(), in)
			if err != nil || !d.Allow {
				t.Fatalf("Decide = %+v, %v", d, err)
			}
			if calls != tt.calls {
				t.Errorf("Headers called %d times, want %d", calls, tt.calls)
			}
		})
	}
}

// TestDecideConcurrent runs one Set from many goroutines (run with -race).
func TestDecideConcurrent(t *testing.T) {
	s := compileSet(t, testMCP(), defaultCost,
		deny("deep", `mcp.tool.arguments.?options.?depth.orValue(0) > 2`),
		require("reviewers", `"reviewers" in agent.groups`))
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				args := `{"options":{"depth":1}}`
				want := true
				if (g+i)%3 == 0 {
					args, want = `{"options":{"depth":5}}`, false
				}
				d, err := s.Decide(context.Background(), callIn("github", "create_review", args))
				if err != nil || d.Allow != want {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestToolAllowedAndKnownTool(t *testing.T) {
	s := compileSet(t, testMCP(), defaultCost)
	tests := []struct {
		server, tool  string
		allowed, know bool
	}{
		{"github", "get_pull_request", true, true},
		{"github", "delete_repo", false, false},
		{"github", "Get_Pull_Request", false, false},
		{"semgrep", "get_pull_request", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.tool, func(t *testing.T) {
			if got := s.ToolAllowed(&reviewer, tt.server, tt.tool); got != tt.allowed {
				t.Errorf("ToolAllowed = %v, want %v", got, tt.allowed)
			}
			if got := s.KnownTool(tt.server, tt.tool); got != tt.know {
				t.Errorf("KnownTool = %v, want %v", got, tt.know)
			}
		})
	}
	// A profile without an MCP section allows and knows no tools.
	h := compileSet(t, nil, defaultCost)
	if h.ToolAllowed(&reviewer, "github", "get_pull_request") || h.KnownTool("github", "get_pull_request") {
		t.Error("http profile reports MCP tools")
	}
}

func TestCompileErrors(t *testing.T) {
	path := filepath.Join("testdata", "compile_errors.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(path, data)
	if err != nil {
		t.Fatalf("the file itself must validate: %v", err)
	}
	env, err := policy.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	// The profile without rules compiles cleanly.
	if _, es := policy.Compile(env, &f.Profiles[0], "profiles[0]", f.CELCostLimit); len(es) != 0 {
		t.Fatalf("profiles[0]: %v", es)
	}
	_, es := policy.Compile(env, &f.Profiles[1], "profiles[1]", f.CELCostLimit)
	want := []struct {
		path, msg string
		line      int
	}{
		{"profiles[1].policies[1].when", "Syntax error", 13},
		{"profiles[1].policies[2].when", "undeclared reference to 'user'", 16},
		{"profiles[1].policies[3].when", "must evaluate to bool, not string", 19},
		{"profiles[1].policies[4].when", "must evaluate to bool, not int", 22},
		{"profiles[1].policies[5].when", "undeclared reference to 'shout'", 25},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	config.Locate(data, es)
	for i, w := range want {
		t.Run(w.path, func(t *testing.T) {
			e := es[i]
			if e.Path != w.path {
				t.Errorf("Path = %q, want %q", e.Path, w.path)
			}
			if !strings.Contains(e.Msg, w.msg) {
				t.Errorf("Msg = %q, want it to contain %q", e.Msg, w.msg)
			}
			if e.Line != w.line {
				t.Errorf("Line = %d, want %d", e.Line, w.line)
			}
		})
	}
}

// A server decoding arguments into Go structs reads "Event" as "event": the
// rule must see it too, at any depth.
func TestArgumentLookupFoldsCase(t *testing.T) {
	s := compileSet(t, nil, defaultCost, deny("no-approve", `mcp.tool.arguments.?event.orValue("") == "APPROVE" || mcp.tool.arguments.?opts.?mode.orValue("") == "force" || mcp.tool.arguments.?list.orValue([]).exists(i, i.kind == "x")`))
	for _, args := range []string{`{"Event":"APPROVE"}`, `{"EVENT":"APPROVE"}`, `{"Opts":{"MODE":"force"}}`, `{"list":[{"Kind":"x"}]}`} {
		d, err := s.Decide(context.Background(), callIn("github", "create_review", args))
		if err != nil || d.Allow || d.Rule != "no-approve" {
			t.Errorf("%s: %+v %v", args, d, err)
		}
	}
	if d, _ := s.Decide(context.Background(), callIn("github", "create_review", `{"event":"COMMENT","opts":{"mode":"soft"}}`)); !d.Allow {
		t.Errorf("allowed arguments denied: %+v", d)
	}
}

func withFindings(in *policy.Input, fs ...policy.Finding) *policy.Input {
	in.Findings = fs
	return in
}
