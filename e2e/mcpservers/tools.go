package mcpservers

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Option configures a server built by [GitHub] or [Semgrep].
type Option func(*serverConfig)

type serverConfig struct {
	log *CallLog
}

// WithCallLog makes the server record every message it receives in log.
func WithCallLog(log *CallLog) Option {
	return func(c *serverConfig) { c.log = log }
}

// param is one property of a tool's input schema.
type param struct {
	name     string
	typ      string // JSON Schema type: string, number, boolean, array, object
	desc     string
	required bool
	enum     []string
	items    map[string]any // for arrays
}

func req(name, typ, desc string) param {
	return param{name: name, typ: typ, desc: desc, required: true}
}
func opt(name, typ, desc string) param { return param{name: name, typ: typ, desc: desc} }

func (p param) oneOf(values ...string) param  { p.enum = values; return p }
func (p param) of(items map[string]any) param { p.items = items; return p }

// inputSchema builds a JSON Schema object shaped like the ones GitHub's MCP
// server publishes: {"type":"object","properties":{...},"required":[...]}.
func inputSchema(params ...param) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range params {
		prop := map[string]any{"type": p.typ, "description": p.desc}
		if len(p.enum) > 0 {
			prop["enum"] = p.enum
		}
		if p.items != nil {
			prop["items"] = p.items
		}
		props[p.name] = prop
		if p.required {
			required = append(required, p.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// fakeTool is a tool with a schema and a deterministic fake answer.
type fakeTool struct {
	name        string
	title       string
	description string
	readOnly    bool
	destructive bool
	params      []param
	// result returns the fake payload for the decoded arguments; it is
	// marshalled to indented JSON after the call line.
	result func(args map[string]any) any
}

// add registers t on s under server's name. The answer is one text content:
// a first line naming the call and its arguments in canonical JSON
// ("github/get_pull_request {"owner":"acme","pullNumber":42,"repo":"api"}"),
// then the fake payload as JSON. Missing required arguments give a tool
// error (isError: true), as a real server's validation would.
func (t fakeTool) add(server string, s *mcp.Server) {
	destructive := t.destructive
	openWorld := true
	tool := &mcp.Tool{
		Name:        t.name,
		Title:       t.title,
		Description: t.description,
		InputSchema: inputSchema(t.params...),
		Annotations: &mcp.ToolAnnotations{
			Title:           t.title,
			ReadOnlyHint:    t.readOnly,
			DestructiveHint: &destructive,
			OpenWorldHint:   &openWorld,
		},
	}
	s.AddTool(tool, func(_ context.Context, r *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := map[string]any{}
		if len(r.Params.Arguments) > 0 {
			dec := json.NewDecoder(bytes.NewReader(r.Params.Arguments))
			dec.UseNumber()
			if err := dec.Decode(&args); err != nil {
				return toolError("%s/%s: arguments are not a JSON object: %v", server, t.name, err), nil
			}
		}
		for _, p := range t.params {
			if _, ok := args[p.name]; p.required && !ok {
				return toolError("%s/%s: missing required argument %q", server, t.name, p.name), nil
			}
		}
		line := CallLine(server, t.name, args)
		payload, err := json.MarshalIndent(t.result(args), "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", server, t.name, err)
		}
		return &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: line + "\n" + string(payload)}},
		}, nil
	})
}

// CallLine is the first line of every fake tool result:
// "<server>/<tool> <arguments as canonical JSON>" (keys sorted, no spaces).
// Tests compare a result's first line with CallLine of what they sent.
func CallLine(server, tool string, args map[string]any) string {
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		b = []byte(fmt.Sprintf("%q", fmt.Sprint(args)))
	}
	return server + "/" + tool + " " + string(b)
}

func toolError(format string, a ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{
		IsError: true,
		Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, a...)}},
	}
}

// str returns args[name] as a string ("" when absent), numbers included.
func str(args map[string]any, name string) string {
	switch v := args[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// num returns args[name] as an int, or def when absent or not a number.
func num(args map[string]any, name string, def int) int {
	switch v := args[name].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n)
		}
		if f, err := v.Float64(); err == nil {
			return int(f)
		}
	case string:
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
	}
	return def
}

// fakeSHA is a stable, commit-shaped hex string derived from parts.
func fakeSHA(parts ...any) string {
	sum := sha1.Sum([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:])
}

// newServer builds an empty go-sdk server: short is the name used in call
// lines and the call log ("github"), impl the name it reports in initialize.
func newServer(short, impl string, opts []Option) *mcp.Server {
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: impl, Version: "0.0.0-agentguard-e2e"}, &mcp.ServerOptions{
		// Tools only: no logging capability, so clients (the inspector CLI
		// among them) send no logging/setLevel that a policy must allow.
		Capabilities: &mcp.ServerCapabilities{},
	})
	if cfg.log != nil {
		s.AddReceivingMiddleware(recorder(short, cfg.log))
	}
	return s
}
