package policy

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"

	"github.com/agentguard/agentguard/pkg/config"
)

// Set is one profile's compiled policy. It is immutable and safe for
// concurrent use.
type Set struct {
	tools     *Tools
	rules     []rule
	respRules []rule // phase: response
	hasAllow  bool
}

type rule struct {
	id, effect, message string
	prg                 cel.Program
}

// Compile builds the Set of a profile. path is the profile's place in the
// config (profiles[2]), used to report every compile error with its place.
func Compile(env *cel.Env, p *config.Profile, path string, costLimit uint64) (*Set, config.Errors) {
	var es config.Errors
	s := &Set{}
	if p.MCP != nil {
		s.tools = compileTools(p.MCP.Tools)
	}
	for i, pol := range p.Policies {
		prg, err := compileCEL(env, pol.When, costLimit)
		if err != nil {
			es = append(es, config.Error{Path: fmt.Sprintf("%s.policies[%d].when", path, i), Msg: err.Error()})
			continue
		}
		msg := pol.Message
		if msg == "" {
			msg = "denied by policy " + pol.ID
		}
		if pol.Phase == "response" {
			s.respRules = append(s.respRules, rule{id: pol.ID, effect: pol.Effect, message: msg, prg: prg})
			continue
		}
		s.rules = append(s.rules, rule{id: pol.ID, effect: pol.Effect, message: msg, prg: prg})
		s.hasAllow = s.hasAllow || pol.Effect == "allow"
	}
	return s, es
}

// ToolAllowed reports whether the allowlist lets the agent call the tool; it
// is what tools/list results are filtered by.
func (s *Set) ToolAllowed(a *Agent, server, tool string) bool {
	if s.tools == nil {
		return false
	}
	ok, _ := s.tools.Check(a, server, tool)
	return ok
}

// Decide evaluates the Set over in. ctx carries the decision's deadline,
// which CEL checks while it evaluates.
func (s *Set) Decide(ctx context.Context, in *Input) (Decision, error) {
	grantedBy := "" // the allow rule that granted a tool call
	if m := in.MCP; m != nil && s.tools != nil {
		if m.Server != "" && !s.tools.ServerAllowed(&in.Agent, m.Server) {
			return Decision{Rule: RuleServerNotAllowed, Message: fmt.Sprintf("agent may not use MCP server %q", m.Server)}, nil
		}
		if m.Method == "tools/call" {
			ok, id := s.tools.Check(&in.Agent, m.Server, m.Tool)
			if !ok {
				return Decision{Rule: id, Message: "tool not allowed for this agent"}, nil
			}
			grantedBy = id
		}
	}
	if len(s.rules) == 0 {
		return Decision{Allow: true, Rule: grantedBy}, nil
	}
	act := &activation{in: in}
	allowed := ""
	for i := range s.rules {
		r := &s.rules[i]
		if r.effect == "allow" && allowed != "" {
			continue
		}
		v, _, err := r.prg.ContextEval(ctx, act)
		ok := false
		if err == nil {
			ok, err = asBool(v)
		}
		if err != nil {
			// The request made the rule fail (a missing key, a wrong
			// type, too much cost, the deadline): the rule denies. Were
			// this an agentguard failure, failure_mode open would let a
			// client pass any rule by making it fail.
			return Decision{Rule: r.id, Message: "policy rule " + r.id + " could not be evaluated for this request",
				EvalErr: fmt.Errorf("rule %s: %w", r.id, err)}, nil
		}
		switch {
		case r.effect == "deny" && ok, r.effect == "require" && !ok:
			return Decision{Rule: r.id, Message: r.message}, nil
		case r.effect == "allow" && ok:
			allowed = r.id
		}
	}
	if s.hasAllow && allowed == "" {
		return Decision{Rule: RuleNoAllowMatched, Message: "no allow rule matched"}, nil
	}
	if allowed == "" {
		allowed = grantedBy
	}
	return Decision{Allow: true, Rule: allowed}, nil
}

// KnownTool reports whether the allowlist names tool literally for server.
func (s *Set) KnownTool(server, tool string) bool {
	return s.tools != nil && s.tools.Known(server, tool)
}

// HasResponseRules reports whether the Set has rules of phase response.
func (s *Set) HasResponseRules() bool { return len(s.respRules) > 0 }

// DecideResponse evaluates the response rules over in (with llm.usage set):
// the first deny that is true or require that is false names a violation.
// A rule that fails to evaluate is a violation too, with EvalErr set.
func (s *Set) DecideResponse(ctx context.Context, in *Input) Decision {
	act := &activation{in: in}
	for i := range s.respRules {
		r := &s.respRules[i]
		v, _, err := r.prg.ContextEval(ctx, act)
		ok := false
		if err == nil {
			ok, err = asBool(v)
		}
		if err != nil {
			return Decision{Rule: r.id, Message: r.message, EvalErr: fmt.Errorf("rule %s: %w", r.id, err)}
		}
		if r.effect == "deny" && ok || r.effect == "require" && !ok {
			return Decision{Rule: r.id, Message: r.message}
		}
	}
	return Decision{Allow: true}
}
