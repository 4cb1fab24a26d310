package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// BenchmarkExchangeToolsCall is the engine's share of the MCP request path,
// without gRPC: headers, a 1 KB tools/call with policy, response headers,
// audit record and metrics.
func BenchmarkExchangeToolsCall(b *testing.B) {
	rt, err := LoadFile("bench", policies.CodeReview)
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
