package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/policies"
)

func TestShippedDefault(t *testing.T) {
	f, err := config.Parse(policies.CodeReviewName, policies.CodeReview)
	if err != nil {
		t.Fatalf("shipped config is invalid:\n%v", err)
	}
	if f.FailureMode != "closed" {
		t.Errorf("failure_mode = %q, want closed", f.FailureMode)
	}
	if got := time.Duration(f.DecisionTimeout); got != 150*time.Millisecond {
		t.Errorf("decision_timeout = %v, want 150ms", got)
	}
	if f.DefaultProfile != "" {
		t.Errorf("default_profile = %q, want none", f.DefaultProfile)
	}
	if f.CELCostLimit == 0 {
		t.Error("cel_cost_limit not defaulted")
	}
	if f.Audit.Output != "stdout" {
		t.Errorf("audit.output = %q", f.Audit.Output)
	}
	var names []string
	for _, p := range f.Profiles {
		names = append(names, p.Name)
		if p.FailureMode != "closed" {
			t.Errorf("profile %s: failure_mode = %q, want the top-level closed", p.Name, p.FailureMode)
		}
		want := int64(1 << 20)
		if p.Protocol == "openai" || p.Protocol == "anthropic" {
			want = 4 << 20 // prompts carrying code under review
		}
		if p.MaxBodyBytes != want {
			t.Errorf("profile %s: max_body_bytes = %d, want %d", p.Name, p.MaxBodyBytes, want)
		}
		// Sources are as written, not replaced by the default.
		if want := []string{"xfcc", "peer", "header"}; !slices.Equal(p.Identity.Sources, want) {
			t.Errorf("profile %s: identity.sources = %v, want %v", p.Name, p.Identity.Sources, want)
		}
		if p.Identity.TrustHeader != "x-agent-id" {
			t.Errorf("profile %s: trust_header = %q", p.Name, p.Identity.TrustHeader)
		}
	}
	if want := []string{"mcp", "orchestrator", "anthropic", "openai"}; !slices.Equal(names, want) {
		t.Fatalf("profiles = %v, want %v", names, want)
	}
	m := f.Profiles[0].MCP
	if m == nil {
		t.Fatal("mcp profile has no mcp section")
	}
	if m.MaxBatch != 100 || m.MaxDepth != 64 || m.MaxEventBytes != 1<<20 {
		t.Errorf("mcp defaults: max_batch %d, max_depth %d, max_event_bytes %d", m.MaxBatch, m.MaxDepth, m.MaxEventBytes)
	}
	if m.ServerHeader != "x-mcp-server" || m.RouteHeader != "x-agentguard-cluster" {
		t.Errorf("mcp headers: %q, %q", m.ServerHeader, m.RouteHeader)
	}
	if len(m.Servers) != 2 || len(m.Tools) != 4 {
		t.Errorf("mcp: %d servers, %d tool rules", len(m.Servers), len(m.Tools))
	}
	if f.Profiles[0].Identity.TrustDomains[0] != "cluster.local" {
		t.Errorf("trust_domains = %v", f.Profiles[0].Identity.TrustDomains)
	}
	if !f.Profiles[1].Identity.AllowAnonymous {
		t.Error("orchestrator should allow anonymous webhooks")
	}
}

// The default deployment's limits are the seed's: webhooks 5 a minute, the
// rest of the orchestrator 20, each LLM profile 10 requests a minute per
// agent with a token limit and a daily budget, GitHub 60, Semgrep 30.
func TestShippedLimits(t *testing.T) {
	f, err := config.Parse(policies.CodeReviewName, policies.CodeReview)
	if err != nil {
		t.Fatal(err)
	}
	if f.Limits.Backend != "memory" {
		t.Errorf("limits.backend %q, want memory", f.Limits.Backend)
	}
	type lim struct {
		id, when, unit string
		rate           float64
		per            time.Duration
		quota          float64
		window         string
	}
	llm := []lim{
		{"llm-requests", "", "requests", 10, time.Minute, 0, ""},
		{"llm-tokens", "", "total_tokens", 200000, time.Minute, 0, ""},
		{"daily-budget", "", "cost_usd", 0, 0, 20, "day"},
	}
	want := map[string][]lim{
		"mcp": {
			{"github-calls", `mcp.server == "github" && mcp.method == "tools/call"`, "requests", 60, time.Minute, 0, ""},
			{"semgrep-calls", `mcp.server == "semgrep" && mcp.method == "tools/call"`, "requests", 30, time.Minute, 0, ""},
		},
		"orchestrator": {
			{"webhook-deliveries", "webhook.verified", "requests", 5, time.Minute, 0, ""},
			{"orchestrator-requests", "!webhook.verified", "requests", 20, time.Minute, 0, ""},
		},
		"anthropic": llm,
		"openai":    llm,
	}
	for _, p := range f.Profiles {
		var got []lim
		for _, l := range p.Limits {
			if l.Key != "" {
				t.Errorf("profile %s limit %s: keyed by %q, want the agent", p.Name, l.ID, l.Key)
			}
			if l.Burst != 0 && l.Burst != l.Rate {
				t.Errorf("profile %s limit %s: burst %v, want the rate", p.Name, l.ID, l.Burst)
			}
			got = append(got, lim{l.ID, l.When, l.Unit, l.Rate, time.Duration(l.Per), l.Quota, l.Window})
		}
		if !slices.Equal(got, want[p.Name]) {
			t.Errorf("profile %s limits:\n got %+v\nwant %+v", p.Name, got, want[p.Name])
		}
	}
}

func TestValidDefaults(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, f *config.File)
	}{
		{"minimal.yaml", func(t *testing.T, f *config.File) {
			p := f.Profiles[0]
			if f.FailureMode != "closed" || p.FailureMode != "closed" {
				t.Errorf("failure_mode %q, profile %q", f.FailureMode, p.FailureMode)
			}
			if time.Duration(f.DecisionTimeout) != 150*time.Millisecond {
				t.Errorf("decision_timeout %v", time.Duration(f.DecisionTimeout))
			}
			if f.CELCostLimit != 100_000 {
				t.Errorf("cel_cost_limit %d", f.CELCostLimit)
			}
			if !slices.Equal(p.Identity.Sources, []string{"xfcc", "peer"}) {
				t.Errorf("identity.sources %v", p.Identity.Sources)
			}
			if p.MCP != nil {
				t.Error("http profile grew an mcp section")
			}
			if f.Limits.Backend != "memory" || f.Limits.Redis != nil {
				t.Errorf("limits default %+v", f.Limits)
			}
		}},
		{"mcp_defaults.yaml", func(t *testing.T, f *config.File) {
			if f.FailureMode != "open" {
				t.Errorf("failure_mode %q", f.FailureMode)
			}
			// A profile's own failure_mode wins; otherwise it inherits.
			if f.Profiles[0].FailureMode != "closed" || f.Profiles[1].FailureMode != "open" {
				t.Errorf("profile failure modes %q, %q", f.Profiles[0].FailureMode, f.Profiles[1].FailureMode)
			}
			m := f.Profiles[0].MCP
			if m.ServerHeader != "x-mcp-server" || m.RouteHeader != "x-agentguard-cluster" ||
				m.MaxBatch != 100 || m.MaxDepth != 64 || m.MaxEventBytes != 1<<20 {
				t.Errorf("mcp defaults %+v", *m)
			}
			if !slices.Equal(f.Profiles[1].Identity.Sources, []string{"header"}) || f.Profiles[1].Identity.TrustHeader != "x-agent-id" {
				t.Errorf("identity %+v", f.Profiles[1].Identity)
			}
		}},
		{"limits.yaml", func(t *testing.T, f *config.File) {
			r := f.Limits.Redis
			if f.Limits.Backend != "redis" || r == nil {
				t.Fatalf("limits backend %+v", f.Limits)
			}
			if time.Duration(r.Timeout) != 25*time.Millisecond || time.Duration(r.Backoff) != time.Second ||
				r.FailureMode != "open" || r.KeyPrefix != "agentguard:limits:" || r.DB != 0 {
				t.Errorf("redis defaults %+v", *r)
			}
			ls := f.Profiles[0].Limits
			if ls[0].Unit != config.UnitRequests || ls[0].DefaultMaxTokens != 0 || ls[1].DefaultMaxTokens != 4096 {
				t.Errorf("limit defaults %+v", ls)
			}
			s, err := ls[2].Spec("llm/budget")
			if err != nil || s.Quota != 100 || s.Location.String() != "Europe/Paris" {
				t.Errorf("budget spec %+v, %v", s, err)
			}
			if s, err := ls[1].Spec("llm/tokens"); err != nil || s.Rate != 1000 || s.Period != time.Second || s.Burst != 5000 {
				t.Errorf("rate spec %+v, %v", s, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := config.Load(filepath.Join("testdata", "valid", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, f)
		})
	}
}

// anyLine expects a line number without pinning it (yaml.v3 reports parser
// errors at the line of the enclosing construct).
const anyLine = -1

type wantErr struct {
	line int // 0: none expected; anyLine: some
	path string
	msg  string // substring
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []wantErr // every error, in order
	}{
		{"unknown_field.yaml", []wantErr{{4, "", "field role not found in type config.Agent"}}},
		{"wrong_types.yaml", []wantErr{
			{1, "", "cannot unmarshal !!str `lots` into uint64"},
			{8, "", "cannot unmarshal !!str `http` into int"},
			{10, "", "cannot unmarshal !!str `sometimes` into bool"},
		}},
		{"syntax_error.yaml", []wantErr{{anyLine, "", "did not find expected ',' or ']'"}}},
		{"empty.yaml", []wantErr{{0, "", "empty config"}}},
		{"comments_only.yaml", []wantErr{{0, "", "empty config"}}},
		{"two_documents.yaml", []wantErr{{4, "", "more than one YAML document"}}},
		{"duplicate_agent.yaml", []wantErr{{4, "agents[2].name", `duplicate agent "alice"`}}},
		{"duplicate_profile.yaml", []wantErr{{4, "profiles[1].name", `duplicate profile "web"`}}},
		{"duplicate_server.yaml", []wantErr{{8, "profiles[0].mcp.servers[1].name", `duplicate server "github"`}}},
		{"duplicate_rule.yaml", []wantErr{
			{12, "profiles[0].mcp.tools[1].id", `duplicate rule id "read"`},
			{19, "profiles[0].policies[1].id", `duplicate rule id "audit-only"`},
		}},
		{"bad_spiffe.yaml", []wantErr{
			{5, "agents[0].spiffe[1]", `invalid SPIFFE ID: scheme is not "spiffe://"`},
			{7, "agents[1].spiffe[0]", "invalid SPIFFE ID: trust domain has character 'E'"},
		}},
		{"spiffe_two_agents.yaml", []wantErr{
			{5, "agents[1].spiffe[0]", `spiffe://example.org/ns/a/sa/shared already belongs to agent "alice"`},
		}},
		{"unknown_protocol.yaml", []wantErr{{3, "profiles[0].protocol", `unknown protocol "grpc" (available: anthropic, http, mcp, openai, webhook)`}}},
		{"planned_protocol.yaml", []wantErr{
			{2, "profiles[0].webhook", "required for protocol webhook"},
		}},
		{"mcp_missing.yaml", []wantErr{{2, "profiles[0].mcp", "required for protocol mcp"}}},
		{"mcp_on_http.yaml", []wantErr{{5, "profiles[0].mcp", "only allowed with protocol mcp"}}},
		{"inspect_bad.yaml", []wantErr{
			{2, "detectors.stream_holdback_bytes", "must be in [1, 65536], not -1"},
			{4, "detectors.injection.threshold", "must be in (0, 1), not 1.5"},
			{anyLine, "detectors.classifier.url", "required when the classifier is configured"},
			{15, "profiles[0].inspect.request.classifier", "needs detectors.classifier.url"},
			{14, "profiles[0].inspect.request.injection", "there is no span to redact"},
			{12, "profiles[0].inspect.request.magic", `unknown detector "magic"`},
			{13, "profiles[0].inspect.request.secrets", `action must be deny, redact or log, not "block"`},
			{17, "profiles[0].inspect.response.pii", "protocol http responses are not inspected"},
			{19, "profiles[0].ext_authz.partial_body", `must be deny or headers, not "maybe"`},
			{25, "profiles[1].ext_authz.partial_body", "headers is only allowed with protocol http"},
		}},
		{"response_phase.yaml", []wantErr{
			{6, "profiles[0].policies[0].phase", "response rules exist only on LLM profiles"},
			{6, "profiles[0].policies[0].phase", "a response rule cannot allow"},
			{10, "profiles[0].policies[1].phase", `must be request or response, not "later"`},
		}},
		{"llm_missing.yaml", []wantErr{{2, "profiles[0].llm", "required for protocol openai"}}},
		{"llm_bad.yaml", []wantErr{
			{6, "profiles[0].llm.credential", "file or env is required"},
			{9, "profiles[0].llm.agent_credentials.ghost", `no agent named "ghost"`},
			{9, "profiles[0].llm.agent_credentials.ghost.file", `must be an absolute path, not "relative/key"`},
			{11, "profiles[0].llm.models[0].id", `invalid rule id ""`},
			{11, "profiles[0].llm.models[0].allow", "at least one model pattern is required"},
			{12, "profiles[0].llm.models[0].agents[0]", `no agent named "nobody"`},
			{14, "profiles[0].llm.routes[0].cluster", "required"},
		}},
		{"tool_allow_and_deny.yaml", []wantErr{
			{9, "profiles[0].mcp.tools[0]", "exactly one of allow or deny is required"},
			{13, "profiles[0].mcp.tools[1]", "exactly one of allow or deny is required"},
		}},
		{"tool_unknown_refs.yaml", []wantErr{
			{15, "profiles[0].mcp.tools[0].server", `no server named "gitlab"`},
			{13, "profiles[0].mcp.tools[0].agents[1]", `no agent named "mallory"`},
			{14, "profiles[0].mcp.tools[0].groups[1]", `no agent is in group "blue"`},
		}},
		{"bad_failure_mode.yaml", []wantErr{
			{1, "failure_mode", `must be closed or open, not "sometimes"`},
			{5, "profiles[0].failure_mode", `must be closed or open, not "maybe"`},
		}},
		{"decision_timeout_range.yaml", []wantErr{{1, "decision_timeout", "must be in (0, 10s], not 1m0s"}}},
		{"decision_timeout_negative.yaml", []wantErr{{1, "decision_timeout", "must be in (0, 10s], not -5ms"}}},
		{"decision_timeout_syntax.yaml", []wantErr{{4, "", `invalid duration "soon"`}}},
		{"default_profile_unknown.yaml", []wantErr{{1, "default_profile", `no profile named "webb"`}}},
		{"bad_identity_source.yaml", []wantErr{
			{7, "profiles[0].identity.sources[1]", `unknown source "cookie"`},
			{8, "profiles[0].identity.sources[2]", `source "xfcc" repeated`},
			{9, "profiles[0].identity.trust_domains[1]", "trust domain has character 'C'"},
		}},
		{"uppercase_header.yaml", []wantErr{
			{6, "profiles[0].identity.trust_header", `must be a lowercase header name, not "X-Agent-Id"`},
			{8, "profiles[0].mcp.server_header", `must be a lowercase header name, not "X-MCP-Server"`},
			{9, "profiles[0].mcp.route_header", `starting with x-agentguard-, not "x-envoy-original-path"`},
		}},
		{"no_profiles.yaml", []wantErr{{1, "profiles", "at least one profile is required"}}},
		{"limits_bad.yaml", []wantErr{
			{5, "limits.redis.address", `must be host:port, not "redis"`},
			{10, "limits.redis.password.file", `must be an absolute path, not "relative/secret"`},
			{6, "limits.redis.db", "must be in [0, 65536), not -1"},
			{7, "limits.redis.timeout", "must be in (0, decision_timeout 100ms), not 100ms"},
			{8, "limits.redis.backoff", "must be in (0, 1m0s], not 2m0s"},
			{9, "limits.redis.failure_mode", `must be open or closed, not "maybe"`},
			{18, "profiles[0].limits[1].id", `duplicate limit id "calls"`},
			{19, "profiles[0].limits[1].unit", "exist only on LLM profiles"},
			{22, "profiles[0].limits[2]", "a rate (rate, per, burst) or a budget (quota, window, timezone), not both"},
			{27, "profiles[0].limits[3]", "rate and per (a rate limit), or quota and window (a budget), are required"},
			{28, "profiles[0].limits[4].id", `invalid limit id "bad id"`},
			{29, "profiles[0].limits[4].unit", `not "apples"`},
			{30, "profiles[0].limits[4].rate", "must be a positive number, not -1"},
			{28, "profiles[0].limits[4].per", "required: the period the rate is counted over"},
			{31, "profiles[0].limits[4].burst", "must be a positive number, not -2"},
			{39, "profiles[1].limits[0].quota", "must be a positive number, not 0"},
			{40, "profiles[1].limits[0].window", `must be day or month, not "week"`},
			{41, "profiles[1].limits[0].timezone", `unknown IANA time zone "Mars/Olympus"`},
			{45, "profiles[1].limits[1].default_max_tokens", "only for token and cost units"},
			{42, "profiles[1].limits[1]", "too fine to count in nanoseconds"},
			{51, "profiles[1].limits[2].default_max_tokens", "must be in [1, 10000000], not -5"},
			{46, "profiles[1].limits[2]", "a full burst must refill within"},
		}},
		{"limits_memory_redis.yaml", []wantErr{{4, "limits.redis", "only allowed with backend redis"}}},
		{"limits_backend.yaml", []wantErr{
			{2, "limits.backend", `must be memory or redis, not "etcd"`},
			{9, "profiles[1].limits[0].quota", "must be a positive number, not 0"},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			f, err := config.Load(path)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, not config.Errors: %v", err, err)
			}
			checkErrors(t, path, es, tt.want)
		})
	}
}

func checkErrors(t *testing.T, file string, es config.Errors, want []wantErr) {
	t.Helper()
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		e := es[i]
		if e.File != file {
			t.Errorf("[%d] File = %q, want %q", i, e.File, file)
		}
		if e.Path != w.path {
			t.Errorf("[%d] Path = %q, want %q", i, e.Path, w.path)
		}
		if !strings.Contains(e.Msg, w.msg) {
			t.Errorf("[%d] Msg = %q, want it to contain %q", i, e.Msg, w.msg)
		}
		switch {
		case w.line == anyLine && e.Line <= 0:
			t.Errorf("[%d] Line = %d, want a line", i, e.Line)
		case w.line != anyLine && e.Line != w.line:
			t.Errorf("[%d] Line = %d, want %d (%v)", i, e.Line, w.line, e)
		}
		// Every error renders on one line, starting with its place.
		s := e.Error()
		if strings.Contains(s, "\n") {
			t.Errorf("[%d] renders on several lines: %q", i, s)
		}
		if !strings.HasPrefix(s, file+":") {
			t.Errorf("[%d] %q does not start with the file name", i, s)
		}
		if !strings.Contains(es.Error(), s) {
			t.Errorf("[%d] Errors.Error() leaves out %q", i, s)
		}
	}
}

// TestManyErrors proves validation is whole: one file with many problems
// reports every one of them, each with its place, not just the first.
func TestManyErrors(t *testing.T) {
	path := filepath.Join("testdata", "invalid", "many.yaml")
	_, err := config.Load(path)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	checkErrors(t, path, es, []wantErr{
		{1, "failure_mode", `not "ajar"`},
		{2, "decision_timeout", "not 30s"},
		{5, "audit.output", `not "relative/audit.log"`},
		{9, "agents[0].groups[0]", `invalid group name "red team"`},
		{10, "agents[1].name", `duplicate agent "alice"`},
		{11, "agents[1].spiffe[0]", `already belongs to agent "alice"`},
		{15, "profiles[0].max_body_bytes", "not -1"},
		{17, "profiles[0].match.ports[0]", "invalid port 0"},
		{17, "profiles[0].match.ports[1]", "invalid port 70000"},
		{18, "profiles[0].match.path_prefixes[0]", "must start with /"},
		{20, "profiles[0].identity.sources[0]", `unknown source "carrier-pigeon"`},
		{21, "profiles[0].identity.trust_domains[0]", "trust domain has character 'E'"},
		{23, "profiles[0].mcp.max_batch", "must be in [1, 10000]"},
		{24, "profiles[0].mcp.max_depth", "must be in [2, 512]"},
		{25, "profiles[0].mcp.max_event_bytes", "at least 1024"},
		{27, "profiles[0].mcp.servers[0].cluster", "required"},
		{28, "profiles[0].mcp.servers[1].name", `duplicate server "github"`},
		{33, "profiles[0].mcp.tools[0].server", `no server named "gitlab"`},
		{32, "profiles[0].mcp.tools[0].agents[0]", `no agent named "bob"`},
		{34, "profiles[0].mcp.tools[0].allow[0]", "empty tool pattern"},
		{35, "profiles[0].mcp.tools[1].id", `duplicate rule id "r1"`},
		{35, "profiles[0].mcp.tools[1]", "exactly one of allow or deny"},
		{38, "profiles[0].policies[0].id", `invalid rule id "bad id"`},
		{39, "profiles[0].policies[0].effect", `not "maybe"`},
		{40, "profiles[0].policies[0].when", "a CEL expression is required"},
		{42, "profiles[0].audit.log_arguments[0]", `must be server/tool, not "github"`},
		{43, "profiles[1].name", `duplicate profile "tools"`},
		{43, "profiles[1].webhook", "required for protocol webhook"},
		{3, "default_profile", `no profile named "nowhere"`},
	})
	if len(es) != 29 {
		t.Errorf("want all 29 problems reported, got %d", len(es))
	}
}

func TestErrorRendering(t *testing.T) {
	tests := []struct {
		err  config.Error
		want string
	}{
		{config.Error{File: "c.yaml", Line: 12, Path: "profiles[1].mcp", Msg: "required"}, "c.yaml:12: profiles[1].mcp: required"},
		{config.Error{File: "c.yaml", Path: "profiles", Msg: "missing"}, "c.yaml: profiles: missing"},
		{config.Error{File: "c.yaml", Line: 3, Msg: "bad"}, "c.yaml:3: bad"},
		{config.Error{Path: "agents[0].name", Msg: "bad"}, "agents[0].name: bad"},
		{config.Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	es := config.Errors{tests[0].err, tests[1].err}
	if got, want := es.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}

// TestLocate covers errors found after Parse (CEL compilation), which the
// caller places with Locate.
func TestLocate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "mcp_defaults.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		line int
	}{
		{"failure_mode", 1},
		{"agents[0]", 3},
		{"agents[0].spiffe[0]", 4},
		{"agents[0].groups", 5},
		{"profiles[0].mcp.servers[0].cluster", 13},
		{"profiles[0].mcp.tools[0].groups[0]", 16},
		{"profiles[0].mcp.tools[0].allow", 18},
		{"profiles[1].identity.sources[0]", 22},
		// Beyond what exists: the deepest node reached.
		{"profiles[0].policies[0].when", 7},
		{"profiles[1].identity.sources[5]", 22},
		{"profiles[9].name", 7},
		{"nowhere", 1},
	}
	es := make(config.Errors, len(tests))
	for i, tt := range tests {
		es[i] = config.Error{Path: tt.path, Msg: "x"}
	}
	es = append(es, config.Error{Path: "failure_mode", Line: 99, Msg: "already placed"})
	config.Locate(data, es)
	for i, tt := range tests {
		if es[i].Line != tt.line {
			t.Errorf("%s: line %d, want %d", tt.path, es[i].Line, tt.line)
		}
	}
	if es[len(es)-1].Line != 99 {
		t.Errorf("Locate overwrote a known line: %d", es[len(es)-1].Line)
	}
	// Unparseable data leaves lines alone.
	bad := config.Errors{{Path: "failure_mode"}}
	config.Locate([]byte("a: [\n"), bad)
	if bad[0].Line != 0 {
		t.Errorf("line %d from unparseable data", bad[0].Line)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want os.ErrNotExist wrapped", err)
	}
}
