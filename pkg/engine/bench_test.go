package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// BenchmarkExchangeToolsCall is the engine's share of the MCP request path,
// without gRPC: headers, a 1 KB tools/call with policy, response headers,
// audit record and metrics. limits=0 is the default deployment without
// its limits; limits=1 adds one per-agent rate limit (in process, never
// reached), the cost of a local check; limits=2 adds one keyed by a CEL
// expression too.
func BenchmarkExchangeToolsCall(b *testing.B) {
	// Never reached: one unit a microsecond, a burst of a million.
	agent := config.Limit{ID: "per-agent", Unit: config.UnitRequests, Rate: 1e6, Per: config.Duration(1e9), Burst: 1e6}
	server := agent
	server.ID, server.Key = "per-server", "mcp.server"
	for _, lims := range [][]config.Limit{nil, {agent}, {agent, server}} {
		b.Run(fmt.Sprintf("limits=%d", len(lims)), func(b *testing.B) {
			benchToolsCall(b, lims)
		})
	}
}

func benchToolsCall(b *testing.B, lims []config.Limit) {
	f, err := config.Parse("bench", policies.CodeReview)
	if err != nil {
		b.Fatal(err)
	}
	for i := range f.Profiles {
		f.Profiles[i].Limits = nil
	}
	f.Profiles[0].Limits = lims // the mcp profile
	rt, err := Compile(f, "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := New(rt, Options{Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(io.Discard)})
	body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"acme","repo":"widgets","path":"pkg/server/handler.go","note":%q}}}`, strings.Repeat("x", 850)))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		h := Header{":method": "POST", ":path": "/mcp", ":authority": "mcp.local", "content-type": "application/json",
			"x-agent-id": "code-reviewer", "x-mcp-server": "github", "x-request-id": "r"}
		x := e.Start(ctx, Meta{Profile: "mcp", RequestBodyMode: BodyBuffered})
		x.RequestHeaders(h, false)
		if r := x.RequestBody(body, true); r.Reply != nil {
			b.Fatalf("denied: %s", r.Reply.Body)
		}
		x.ResponseHeaders(Header{":status": "200", "content-type": "application/json"}, true)
		x.Finish("")
	}
}

// BenchmarkLimitCheck is what one limit adds to a decision, alone: the
// in-process take of one MCP call, keyed by the agent; with a CEL when;
// with a CEL key as well. The clock moves a microsecond a call, refilling
// exactly what each take costs, so the limit is never reached.
func BenchmarkLimitCheck(b *testing.B) {
	take := config.Limit{ID: "l", Unit: config.UnitRequests, Rate: 1e6, Per: config.Duration(1e9), Burst: 1e6}
	when := take
	when.When = `mcp.method == "tools/call"`
	keyed := when
	keyed.Key = "mcp.server"
	for _, bc := range []struct {
		name string
		lim  config.Limit
	}{{"take", take}, {"when", when}, {"when+key", keyed}} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := config.Parse("bench", policies.CodeReview)
			if err != nil {
				b.Fatal(err)
			}
			f.Profiles[0].Limits = []config.Limit{bc.lim}
			rt, err := Compile(f, "bench")
			if err != nil {
				b.Fatal(err)
			}
			var ns int64
			now := func() time.Time { ns += 1000; return time.Unix(0, ns) }
			e := New(rt, Options{Metrics: telemetry.NewMetrics(), Now: now})
			x := e.Start(context.Background(), Meta{Profile: "mcp", RequestBodyMode: BodyBuffered})
			x.RequestHeaders(Header{":method": "POST", ":path": "/mcp", "x-agent-id": "code-reviewer", "x-mcp-server": "github"}, false)
			in := x.input()
			in.MCP = &policy.MCP{Method: "tools/call", Server: "github", Tool: "get_file_contents"}
			b.ReportAllocs()
			for b.Loop() {
				if r := x.takeLimits(&in); r != nil {
					b.Fatalf("refused: %s", r.Reply.Body)
				}
				x.lim.charges = x.lim.charges[:0]
			}
		})
	}
}
