package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/agentguard/agentguard/pkg/config"
)

// loadTools compiles the tool rules of testdata/tools.yaml, validated the
// way a real config is.
func loadTools(t testing.TB) (*Tools, map[string]Agent) {
	t.Helper()
	path := filepath.Join("testdata", "tools.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(path, data)
	if err != nil {
		t.Fatalf("testdata config is invalid:\n%v", err)
	}
	agents := map[string]Agent{}
	for _, a := range f.Agents {
		agents[a.Name] = Agent{Name: a.Name, Groups: a.Groups, Authenticated: true}
	}
	return compileTools(f.Profiles[0].MCP.Tools), agents
}

func TestToolsCheck(t *testing.T) {
	tools, agents := loadTools(t)
	agents["anonymous"] = Agent{}
	agents["stranger-in-red"] = Agent{Name: "mallory", Groups: []string{"red"}, Authenticated: true}
	agents["alice-without-groups"] = Agent{Name: "alice", Authenticated: true}

	tests := []struct {
		name                string
		agent, server, tool string
		ok                  bool
		rule                string
	}{
		// Coverage by agent name, by group, and for everyone.
		{"agent rule", "alice", "github", "get_pull_request", true, "alice-github"},
		{"agent rule, name alone", "alice-without-groups", "github", "get_file_contents", true, "alice-github"},
		{"agent rule, other agent", "bob", "github", "get_pull_request", false, RuleToolNotAllowed},
		{"group rule", "alice", "github", "list_issues", true, "red-git"},
		{"group rule, second group", "bob", "github", "list_issues", true, "red-git"},
		{"group rule, unlisted name in group", "stranger-in-red", "gitlab", "list_issues", true, "red-git"},
		{"group rule, not in group", "carol", "github", "list_issues", false, RuleToolNotAllowed},
		{"group rule, no groups", "alice-without-groups", "github", "list_issues", false, RuleToolNotAllowed},
		{"everyone rule", "dave", "semgrep", "semgrep_scan", true, "everyone-semgrep"},
		{"everyone rule, anonymous", "anonymous", "semgrep", "semgrep_scan", true, "everyone-semgrep"},
		{"anonymous elsewhere", "anonymous", "github", "list_issues", false, RuleToolNotAllowed},

		// Server globs and exact server names.
		{"server glob", "alice", "gitlab", "list_issues", true, "red-git"},
		{"server glob, unconfigured server", "alice", "gitea", "list_issues", true, "red-git"},
		{"exact server, other server", "alice", "gitlab", "get_pull_request", false, RuleToolNotAllowed},
		{"server case variant", "alice", "GitHub", "get_pull_request", false, RuleToolNotAllowed},
		{"empty server", "alice", "", "get_pull_request", false, RuleToolNotAllowed},

		// Allow patterns: globs, '?', '/' in names.
		{"allow glob", "alice", "gitlab", "search_code", true, "red-git"},
		{"allow glob, bare prefix", "alice", "gitlab", "search_", true, "red-git"},
		{"slash in name", "carol", "files", "fs/read", true, "carol-files"},
		{"question mark", "carol", "files", "fs/list2", true, "carol-files"},
		{"question mark needs a byte", "carol", "files", "fs/list", false, RuleToolNotAllowed},
		{"no prefix match", "carol", "files", "fs/read/etc", false, RuleToolNotAllowed},
		{"empty tool", "alice", "github", "", false, RuleToolNotAllowed},

		// Allow patterns are exact: case and look-alike variants are not granted.
		{"allow case variant", "alice", "github", "Get_Pull_Request", false, RuleToolNotAllowed},
		{"allow upper case", "alice", "github", "GET_PULL_REQUEST", false, RuleToolNotAllowed},
		{"allow cyrillic e", "alice", "github", "get_pull_r\u0435quest", false, RuleToolNotAllowed},
		{"allow full-width", "alice", "github", "ｇｅｔ_pull_request", false, RuleToolNotAllowed},
		{"allow trailing space", "alice", "github", "get_pull_request ", false, RuleToolNotAllowed},

		// Deny before allow, for every agent, on folded names.
		{"deny beats listed allow", "alice", "github", "delete_branch", false, "no-destructive"},
		{"deny case variant", "alice", "github", "Delete_Branch", false, "no-destructive"},
		{"deny upper case", "alice", "github", "DELETE_REPO", false, "no-destructive"},
		{"deny full-width", "alice", "github", "ＤＥＬＥＴＥ_repo", false, "no-destructive"},
		{"deny full-width lower", "dave", "semgrep", "ｄｅｌｅｔｅ_scan", false, "no-destructive"},
		{"deny inner glob", "triage", "github", "get_secret", false, "no-destructive"},
		{"deny inner glob, mixed case", "alice", "github", "List_SECRETS", false, "no-destructive"},
		{"deny inner glob, anonymous", "anonymous", "semgrep", "secret", false, "no-destructive"},
		{"deny on any server", "alice", "unknown", "delete_everything", false, "no-destructive"},
		{"deny on empty server", "alice", "", "delete_everything", false, "no-destructive"},
		{"deny, literal star in name", "alice", "github", "delete_*branch", false, "no-destructive"},
		{"deny, literal stars around", "alice", "github", "*secret*x", false, "no-destructive"},
		{"deny needs the prefix", "alice", "github", "undelete_branch", false, RuleToolNotAllowed},

		// Deny rules scoped to a group and a server.
		{"group deny", "carol", "gitlab", "create_issue", false, "blue-no-create-on-gitlab"},
		{"group deny beats group allow", "bob", "gitlab", "create_issue", false, "blue-no-create-on-gitlab"},
		{"group deny, other server", "bob", "github", "create_issue", true, "red-git"},
		{"group deny, not in group", "alice", "gitlab", "create_issue", true, "red-git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agents[tt.agent]
			ok, rule := tools.Check(&a, tt.server, tt.tool)
			if ok != tt.ok || rule != tt.rule {
				t.Errorf("Check(%s, %q, %q) = %v, %q; want %v, %q", tt.agent, tt.server, tt.tool, ok, rule, tt.ok, tt.rule)
			}
		})
	}
}

func TestToolsServerAllowed(t *testing.T) {
	tools, agents := loadTools(t)
	agents["anonymous"] = Agent{}
	tests := []struct {
		agent, server string
		want          bool
	}{
		{"alice", "github", true}, // agent rule and group rule
		{"alice", "gitlab", true}, // group rule, server glob
		{"alice", "semgrep", true},
		{"alice", "files", false},
		{"alice", "GitHub", false},
		{"alice", "", false},
		{"bob", "github", true},
		{"carol", "github", false}, // a deny rule covers carol on gitlab; it grants nothing
		{"carol", "gitlab", false},
		{"carol", "files", true},
		{"dave", "semgrep", true},
		{"dave", "github", false},
		{"anonymous", "semgrep", true},
		{"anonymous", "github", false},
	}
	for _, tt := range tests {
		t.Run(tt.agent+"/"+tt.server, func(t *testing.T) {
			a := agents[tt.agent]
			if got := tools.ServerAllowed(&a, tt.server); got != tt.want {
				t.Errorf("ServerAllowed(%s, %q) = %v, want %v", tt.agent, tt.server, got, tt.want)
			}
		})
	}
}

func TestToolsKnown(t *testing.T) {
	tools, _ := loadTools(t)
	tests := []struct {
		server, tool string
		want         bool
	}{
		{"github", "get_pull_request", true},
		{"github", "list_issues", true}, // via the git* server glob
		{"gitlab", "create_issue", true},
		{"semgrep", "semgrep_scan", true},
		{"files", "fs/read", true},
		{"github", "search_code", false}, // matched only by a glob
		{"files", "fs/list2", false},
		{"github", "Get_Pull_Request", false},
		{"github", "delete_repository", false}, // deny patterns name nothing
		{"semgrep", "get_pull_request", false},
		{"unknown", "semgrep_scan", false},
		{"github", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.tool, func(t *testing.T) {
			if got := tools.Known(tt.server, tt.tool); got != tt.want {
				t.Errorf("Known(%q, %q) = %v, want %v", tt.server, tt.tool, got, tt.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"delete_repo", "delete_repo"},
		{"DELETE_Repo", "delete_repo"},
		{"ＤＥＬＥＴＥ_repo", "delete_repo"},
		{"ｄｅｌｅｔｅ＿ｒｅｐｏ", "delete_repo"}, // full-width low line too
		{"\u212Aey", "key"},            // Kelvin sign
		{"ﬁle", "file"},                // ligature
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fold(tt.in); got != tt.want {
				t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
