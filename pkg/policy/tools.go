package policy

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/agentguard/agentguard/pkg/config"
)

// Tools is a profile's compiled tool allowlist.
type Tools struct {
	rules []toolRule
}

type toolRule struct {
	id      string
	agents  map[string]bool
	groups  map[string]bool
	server  string
	allow   []string
	deny    []string // folded
	anyone  bool
	isAllow bool
}

func compileTools(rules []config.ToolRule) *Tools {
	t := &Tools{}
	for _, r := range rules {
		tr := toolRule{
			id:      r.ID,
			agents:  set(r.Agents),
			groups:  set(r.Groups),
			server:  r.Server,
			allow:   r.Allow,
			anyone:  len(r.Agents) == 0 && len(r.Groups) == 0,
			isAllow: len(r.Allow) > 0,
		}
		for _, d := range r.Deny {
			tr.deny = append(tr.deny, fold(d))
		}
		t.rules = append(t.rules, tr)
	}
	return t
}

func set(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func (r *toolRule) covers(a *Agent, server string) bool {
	if !Glob(r.server, server) {
		return false
	}
	if r.anyone {
		return true
	}
	if a.Name != "" && r.agents[a.Name] {
		return true
	}
	for _, g := range a.Groups {
		if r.groups[g] {
			return true
		}
	}
	return false
}

// ServerAllowed reports whether some allow rule grants the agent the server.
func (t *Tools) ServerAllowed(a *Agent, server string) bool {
	for i := range t.rules {
		if t.rules[i].isAllow && t.rules[i].covers(a, server) {
			return true
		}
	}
	return false
}

// Check decides one tool call: deny patterns first (on the folded name),
// then an exact allow match. It returns the deciding rule's id.
func (t *Tools) Check(a *Agent, server, tool string) (bool, string) {
	folded := ""
	for i := range t.rules {
		r := &t.rules[i]
		if r.isAllow || !r.covers(a, server) {
			continue
		}
		if folded == "" {
			folded = fold(tool)
		}
		for _, p := range r.deny {
			if Glob(p, folded) {
				return false, r.id
			}
		}
	}
	for i := range t.rules {
		r := &t.rules[i]
		if !r.isAllow || !r.covers(a, server) {
			continue
		}
		for _, p := range r.allow {
			if Glob(p, tool) {
				return true, r.id
			}
		}
	}
	return false, RuleToolNotAllowed
}

// fold maps a name to a form where case and Unicode compatibility variants
// (full-width letters, ligatures) coincide, so "DELETE_repo" and
// "ｄｅｌｅｔｅ_repo" both match a deny pattern "delete_*". Allow patterns are
// matched exactly instead: a look-alike must never be granted.
func fold(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}

// Known reports whether tool is named literally (not by a glob) in an allow
// rule for server. Metrics label tools by name only when they are, so that
// tool names sent by clients cannot grow the label set.
func (t *Tools) Known(server, tool string) bool {
	for i := range t.rules {
		r := &t.rules[i]
		if !r.isAllow || !Glob(r.server, server) {
			continue
		}
		for _, p := range r.allow {
			if p == tool {
				return true
			}
		}
	}
	return false
}
