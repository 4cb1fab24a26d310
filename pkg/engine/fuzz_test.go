package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/protocol/mcp"
	"github.com/agentguard/agentguard/policies"
)

// FuzzRequestPath drives whole exchanges with arbitrary headers and bodies,
// buffered or streamed in two chunks, and checks the invariants that make
// agentguard safe to put in front of a tool server:
//   - it never panics and always ends in allow, deny or error;
//   - every reply is JSON (a JSON-RPC error on the MCP profile);
//   - an allowed tools/call is one the allowlist grants the agent.
func FuzzRequestPath(f *testing.F) {
	seeds, _ := filepath.Glob("../extproc/testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add("code-reviewer", "github", b, uint16(len(b)/2), false)
			f.Add("triage-bot", "semgrep", b, uint16(3), true)
		}
	}
	f.Add("", "github", []byte(`[`), uint16(0), false)
	f.Add("code-reviewer", "", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ｄｅｌｅｔｅ_x"}}`), uint16(10), true)

	rt, err := LoadFile("fuzz", policies.CodeReview)
	if err != nil {
		f.Fatal(err)
	}
	e := New(rt, Options{})
	set := rt.byName["mcp"].policy
	f.Fuzz(func(t *testing.T, agent, server string, body []byte, split uint16, streamed bool) {
		mode := BodyBuffered
		if streamed {
			mode = BodyStreamed
		}
		x := e.Start(context.Background(), Meta{Profile: "mcp", RequestBodyMode: mode})
		defer x.Finish("")
		h := Header{":method": "POST", ":path": "/mcp", "x-agent-id": agent, "x-mcp-server": server}
		r := x.RequestHeaders(h, len(body) == 0)
		if r.Reply == nil && len(body) > 0 {
			if streamed {
				cut := min(int(split), len(body))
				r = x.RequestBody(body[:cut], cut == len(body))
				if r.Reply == nil && cut < len(body) {
					r = x.RequestBody(body[cut:], true)
				}
			} else {
				r = x.RequestBody(body, true)
			}
		}
		switch x.rec.Decision {
		case "allow", "deny", "error":
		default:
			t.Fatalf("decision %q", x.rec.Decision)
		}
		if r.Reply != nil {
			if !json.Valid(r.Reply.Body) {
				t.Fatalf("reply is not JSON: %q", r.Reply.Body)
			}
			if v := gjson.GetBytes(r.Reply.Body, "jsonrpc"); v.Exists() && v.String() != "2.0" && !gjson.ParseBytes(r.Reply.Body).IsArray() {
				t.Fatalf("bad JSON-RPC reply %s", r.Reply.Body)
			}
			return
		}
		if x.rec.Decision != "allow" {
			t.Fatalf("no reply but decision %q", x.rec.Decision)
		}
		b, err := mcp.Parse(body, mcp.Limits{})
		if err != nil {
			if len(body) > 0 {
				t.Fatalf("allowed a body the codec rejects: %v", err)
			}
			return
		}
		a := x.agent
		for _, m := range b.Messages {
			if m.Method == "tools/call" && !set.ToolAllowed(&a, server, m.Tool) {
				t.Fatalf("allowed tool %q for %q on %q", m.Tool, agent, server)
			}
		}
	})
}
