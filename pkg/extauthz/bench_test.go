package extauthz

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// noop allows every Check with an empty OkHttpResponse: the floor any
// ext_authz server pays for gRPC and protobuf, against which agentguard's
// cost is reported.
type noop struct {
	authv3.UnimplementedAuthorizationServer
}

func (noop) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
	}, nil
}

// toolsCall1K is a tools/call of about 1 KB, allowed by the default
// deployment for code-reviewer.
func toolsCall1K() []byte {
	pad := strings.Repeat("x", 800)
	return []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"acme","repo":"widgets","path":"pkg/server/handler.go","ref":"refs/heads/main","note":%q}}}`, pad))
}

// BenchmarkCheck is one Check of a 1 KB MCP tools/call as Envoy sends it
// (headers, raw_body, XFCC identity, context_extensions profile) over gRPC,
// for a no-op server and for agentguard in the same run. cpu-ns/op is the
// process's CPU time (user+system, client and server: bufconn runs both
// here) per Check; agentguard's own share is its difference from noop's.
func BenchmarkCheck(b *testing.B) {
	// The default deployment without its rate limits, which a benchmark
	// would exhaust in its first second.
	f, err := config.Parse("bench", policies.CodeReview)
	if err != nil {
		b.Fatal(err)
	}
	for i := range f.Profiles {
		f.Profiles[i].Limits = nil
	}
	rt, err := engine.Compile(f, "bench")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(rt, engine.Options{Log: log, Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(io.Discard)})
	body := toolsCall1K()
	req := check{profile: "mcp", body: body, headers: map[string]string{"content-type": "application/json",
		"content-length": strconv.Itoa(len(body)), "x-mcp-server": "github", "x-forwarded-client-cert": xfcc(reviewer),
		"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}}.request()
	for _, s := range []struct {
		name string
		srv  authv3.AuthorizationServer
	}{{"noop", noop{}}, {"agentguard", New(eng, log)}} {
		b.Run(s.name, func(b *testing.B) {
			client := serve(b, s.srv)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu0 := cpuTime()
			for b.Loop() {
				resp, err := client.Check(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if resp.GetStatus().GetCode() != int32(codes.OK) {
					b.Fatalf("denied: %s", resp.GetDeniedResponse().GetBody())
				}
			}
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
