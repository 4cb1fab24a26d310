package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/policies"
)

// shipped is the default deployment, parsed and compiled profile by profile.
type shipped struct {
	file   *config.File
	sets   map[string]*policy.Set
	agents map[string]policy.Agent
}

func loadShipped(t testing.TB, edit func(f *config.File)) *shipped {
	t.Helper()
	f, err := config.Parse(policies.CodeReviewName, policies.CodeReview)
	if err != nil {
		t.Fatalf("shipped config: %v", err)
	}
	if edit != nil {
		edit(f)
	}
	env, err := policy.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := &shipped{file: f, sets: map[string]*policy.Set{}, agents: map[string]policy.Agent{}}
	for i := range f.Profiles {
		s, es := policy.Compile(env, &f.Profiles[i], "profiles", f.CELCostLimit)
		if len(es) > 0 {
			t.Fatalf("profile %s: %v", f.Profiles[i].Name, es)
		}
		d.sets[f.Profiles[i].Name] = s
	}
	for _, a := range f.Agents {
		d.agents[a.Name] = policy.Agent{Name: a.Name, Groups: a.Groups, SPIFFE: a.SPIFFE[0], Source: "xfcc", Authenticated: true}
	}
	return d
}

func (d *shipped) call(agent, server, tool, args string) *policy.Input {
	in := &policy.Input{
		Profile: "mcp", Protocol: "mcp", Agent: d.agents[agent],
		Request: policy.Request{Method: "POST", Path: "/mcp"},
		MCP:     &policy.MCP{Method: "tools/call", ID: "7", Server: server, Tool: tool},
	}
	if args != "" {
		in.MCP.Arguments = []byte(args)
	}
	return in
}

const reviewMsg = "agents may comment on pull requests, not approve them"

func TestShippedMCP(t *testing.T) {
	d := loadShipped(t, nil)
	notAllowed := policy.Decision{Rule: policy.RuleToolNotAllowed, Message: "tool not allowed for this agent"}
	destructive := policy.Decision{Rule: "no-destructive-tools", Message: "tool not allowed for this agent"}
	tests := []struct {
		name                      string
		agent, server, tool, args string
		want                      policy.Decision
	}{
		{"reviewer reads a pull request", "code-reviewer", "github", "get_pull_request", `{"owner":"acme","repo":"w","pullNumber":1}`,
			policy.Decision{Allow: true, Rule: "code-reviewer-github"}},
		{"reviewer scans", "code-reviewer", "semgrep", "semgrep_scan", `{"path":"."}`,
			policy.Decision{Allow: true, Rule: "code-reviewer-semgrep"}},
		{"reviewer may not list issues", "code-reviewer", "github", "list_issues", `{}`, notAllowed},
		{"reviewer may not call a semgrep tool on github", "code-reviewer", "github", "semgrep_scan", `{}`, notAllowed},
		{"triage creates an issue", "triage-bot", "github", "create_issue", `{"title":"x"}`,
			policy.Decision{Allow: true, Rule: "triage-bot-github"}},
		{"triage may not read pull requests", "triage-bot", "github", "get_pull_request", `{}`, notAllowed},
		{"triage may not use semgrep", "triage-bot", "semgrep", "semgrep_scan", `{}`,
			policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "semgrep"`}},
		{"triage may not use semgrep's other tool", "triage-bot", "semgrep", "security_check", `{}`,
			policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "semgrep"`}},
		{"an unknown agent gets no server", "stranger", "github", "get_issue", `{}`,
			policy.Decision{Rule: policy.RuleServerNotAllowed, Message: `agent may not use MCP server "github"`}},

		{"reviewer may not delete", "code-reviewer", "github", "delete_repository", `{}`, destructive},
		{"triage may not delete", "triage-bot", "github", "delete_repository", `{}`, destructive},
		{"delete, case variant", "code-reviewer", "github", "Delete_Repository", `{}`, destructive},
		{"delete, full-width", "code-reviewer", "github", "ＤＥＬＥＴＥ_repository", `{}`, destructive},
		{"reviewer may not read secrets", "code-reviewer", "github", "get_secret", `{}`, destructive},
		{"triage may not list secrets", "triage-bot", "github", "list_secrets", `{}`, destructive},
		{"secrets on semgrep", "code-reviewer", "semgrep", "Scan_SECRETS", `{}`, destructive},

		{"review approval denied", "code-reviewer", "github", "create_pull_request_review", `{"owner":"acme","repo":"w","pullNumber":1,"event":"APPROVE"}`,
			policy.Decision{Rule: "reviews-only-comment", Message: reviewMsg}},
		{"review comment allowed", "code-reviewer", "github", "create_pull_request_review", `{"owner":"acme","repo":"w","pullNumber":1,"event":"COMMENT","body":"nit"}`,
			policy.Decision{Allow: true, Rule: "code-reviewer-github"}},
		{"review without event allowed", "code-reviewer", "github", "create_pull_request_review", `{"owner":"acme","repo":"w","pullNumber":1}`,
			policy.Decision{Allow: true, Rule: "code-reviewer-github"}},
		{"review without arguments allowed", "code-reviewer", "github", "create_pull_request_review", ``,
			policy.Decision{Allow: true, Rule: "code-reviewer-github"}},
		{"triage may not review", "triage-bot", "github", "create_pull_request_review", `{"event":"APPROVE"}`, notAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.sets["mcp"].Decide(context.Background(), d.call(tt.agent, tt.server, tt.tool, tt.args))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestShippedDenyBeatsAllowList: even where an operator lists a destructive
// tool in an allow rule, the deny rule still forbids it.
func TestShippedDenyBeatsAllowList(t *testing.T) {
	d := loadShipped(t, func(f *config.File) {
		tools := f.Profiles[0].MCP.Tools
		for i := range tools {
			if len(tools[i].Allow) > 0 {
				tools[i].Allow = append(tools[i].Allow, "delete_repository", "get_secret")
			}
		}
	})
	if !d.sets["mcp"].KnownTool("github", "delete_repository") {
		t.Fatal("the edit did not list delete_repository")
	}
	for _, agent := range []string{"code-reviewer", "triage-bot"} {
		for _, tool := range []string{"delete_repository", "get_secret"} {
			t.Run(agent+"/"+tool, func(t *testing.T) {
				got, err := d.sets["mcp"].Decide(context.Background(), d.call(agent, "github", tool, `{}`))
				if err != nil {
					t.Fatal(err)
				}
				if got.Allow || got.Rule != "no-destructive-tools" {
					t.Errorf("Decide = %+v, want a denial by no-destructive-tools", got)
				}
			})
		}
	}
}

func TestShippedHTTPProfiles(t *testing.T) {
	d := loadShipped(t, nil)
	anon := policy.Agent{}
	tests := []struct {
		name, profile, path string
		agent               policy.Agent
		want                policy.Decision
	}{
		// The signature is checked by the engine before rules run; rules
		// see webhook.verified.
		{"signed webhook without identity", "orchestrator", "/webhook/github", anon, policy.Decision{Allow: true}},
		{"api without identity", "orchestrator", "/api/tasks", anon,
			policy.Decision{Rule: "anonymous-only-webhooks", Message: "only signed webhooks may be sent without a workload identity"}},
		{"api with identity", "orchestrator", "/api/tasks", d.agents["triage-bot"], policy.Decision{Allow: true}},
		// Model allowlists of the LLM profiles are decided by the engine
		// (and tested in policies/codereview_test.yaml); their CEL rules:
		{"openai, bounded completions", "openai", "/v1/chat/completions", d.agents["code-reviewer"], policy.Decision{Allow: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &policy.Input{Profile: tt.profile, Protocol: "http", Agent: tt.agent, Request: policy.Request{Method: "POST", Path: tt.path}}
			if strings.HasPrefix(tt.path, "/webhook/") {
				in.Webhook = &policy.Webhook{Verified: true, Event: "pull_request"}
			}
			got, err := d.sets[tt.profile].Decide(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecideArguments feeds untrusted tool arguments to the shipped rule
// that reads them: any bytes give a decision or an error, never a panic, and
// only a well-formed approval is denied by the rule.
func FuzzDecideArguments(f *testing.F) {
	for _, s := range []string{`{"event":"APPROVE"}`, `{"event":"COMMENT"}`, `{}`, `null`, `[1,2]`, `{"event":1}`, `{"event":{"x":[]}}`, `not json`} {
		f.Add([]byte(s))
	}
	d := loadShipped(f, nil)
	set := d.sets["mcp"]
	f.Fuzz(func(t *testing.T, args []byte) {
		dec, err := set.Decide(context.Background(), d.call("code-reviewer", "github", "create_pull_request_review", string(args)))
		if err != nil {
			return // a type error on odd input is the caller's failure mode
		}
		if !dec.Allow && dec.Rule != "reviews-only-comment" {
			t.Errorf("denied by %q", dec.Rule)
		}
	})
}

func BenchmarkDecideToolsCall(b *testing.B) {
	d := loadShipped(b, nil)
	args, err := os.ReadFile(filepath.Join("testdata", "args_1k.json"))
	if err != nil {
		b.Fatal(err)
	}
	set := d.sets["mcp"]
	for _, tool := range []string{
		"get_pull_request",           // the CEL rule short-circuits on the name
		"create_pull_request_review", // the CEL rule decodes the arguments
	} {
		b.Run(tool, func(b *testing.B) {
			ctx := context.Background()
			in := d.call("code-reviewer", "github", tool, string(args))
			b.ReportAllocs()
			b.SetBytes(int64(len(args)))
			for b.Loop() {
				dec, err := set.Decide(ctx, in)
				if err != nil || !dec.Allow {
					b.Fatalf("Decide = %+v, %v", dec, err)
				}
			}
		})
	}
}
