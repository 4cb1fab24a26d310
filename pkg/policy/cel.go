package policy

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

// NewEnv builds the CEL environment every rule is compiled in. It is built
// once per config load; programs are compiled from it at load, never per
// request.
func NewEnv() (*cel.Env, error) {
	m := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("agent", m),
		cel.Variable("request", m),
		cel.Variable("profile", m),
		cel.Variable("mcp", m),
		cel.Variable("llm", m),
		cel.Variable("webhook", m),
		cel.Variable("findings", cel.ListType(m)),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Sets(),
		ext.Lists(),
		// Bound what an operator's expression may cost to parse and check.
		cel.ParserExpressionSizeLimit(16<<10),
		cel.ParserRecursionLimit(64),
	)
}

// activation resolves CEL variables from an Input, building each one only
// when a rule reads it and only once per decision.
type activation struct {
	in                                        *Input
	agent, req, profile, mcpv, llmv, findings any
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "agent":
		if a.agent == nil {
			ag := &a.in.Agent
			groups := ag.Groups
			if groups == nil {
				groups = []string{}
			}
			a.agent = map[string]any{
				"name": ag.Name, "groups": groups, "spiffe": ag.SPIFFE,
				"source": ag.Source, "authenticated": ag.Authenticated,
			}
		}
		return a.agent, true
	case "request":
		if a.req == nil {
			r := &a.in.Request
			var h any = map[string]string{}
			if r.Headers != nil {
				h = &lazyHeaders{load: r.Headers}
			}
			a.req = map[string]any{"method": r.Method, "path": r.Path, "host": r.Host, "id": r.ID, "headers": h}
		}
		return a.req, true
	case "profile":
		if a.profile == nil {
			a.profile = map[string]any{"name": a.in.Profile, "protocol": a.in.Protocol}
		}
		return a.profile, true
	case "mcp":
		if a.mcpv == nil {
			a.mcpv = mcpValue(a.in.MCP)
		}
		return a.mcpv, true
	case "webhook":
		w := a.in.Webhook
		if w == nil {
			w = &Webhook{}
		}
		return map[string]any{"verified": w.Verified, "event": w.Event, "delivery": w.Delivery}, true
	case "findings":
		if a.findings == nil {
			fs := make([]map[string]any, len(a.in.Findings))
			for i, f := range a.in.Findings {
				fs[i] = map[string]any{"detector": f.Detector, "rule": f.Rule, "severity": f.Severity,
					"field": f.Field, "score": f.Score, "action": f.Action}
			}
			a.findings = fs
		}
		return a.findings, true
	case "llm":
		if a.llmv == nil {
			a.llmv = llmValue(a.in.LLM)
		}
		return a.llmv, true
	}
	return nil, false
}

// mcpValue is the `mcp` variable. It always has every key, so a rule written
// for tools/call reads "" rather than failing on other methods.
func mcpValue(m *MCP) map[string]any {
	if m == nil {
		m = &MCP{}
	}
	var args any = map[string]any{}
	if len(m.Arguments) > 0 {
		args = &lazyObject{raw: m.Arguments}
	}
	return map[string]any{
		"method": m.Method, "id": m.ID, "server": m.Server,
		"tool":             map[string]any{"name": m.Tool, "arguments": args},
		"resource":         map[string]any{"uri": m.ResourceURI},
		"prompt":           map[string]any{"name": m.Prompt},
		"session_id":       m.SessionID,
		"protocol_version": m.ProtocolVersion,
		"batch":            m.Batch,
	}
}

func compileCEL(env *cel.Env, expr string, costLimit uint64) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	// dyn is allowed: a rule may be just a field (agent.authenticated);
	// asBool checks the value when it is evaluated.
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("must evaluate to bool, not %s", t)
	}
	return env.Program(ast,
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(100),
		cel.EvalOptions(cel.OptOptimize),
	)
}

func asBool(v any) (bool, error) {
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("rule returned %T, not bool", v)
	}
	return bool(b), nil
}

// llmValue is the `llm` variable; like mcp it always has every key. Usage
// reads zero when the request is decided, and is set for response rules.
func llmValue(l *LLM) map[string]any {
	if l == nil {
		l = &LLM{}
	}
	msgs, tools, calls := l.Messages, l.Tools, l.ToolCalls
	if msgs == nil {
		msgs = []map[string]any{}
	}
	if tools == nil {
		tools = []string{}
	}
	if calls == nil {
		calls = []map[string]any{}
	}
	return map[string]any{
		"provider": l.Provider, "endpoint": l.Endpoint, "model": l.Model, "stream": l.Stream,
		"max_tokens": l.MaxTokens, "messages": msgs, "tools": tools, "tool_calls": calls,
		"usage": map[string]any{"input": l.Usage.Input, "output": l.Usage.Output, "cached_input": l.Usage.CachedInput,
			"reasoning": l.Usage.Reasoning, "cost_usd": l.Usage.CostUSD},
	}
}
