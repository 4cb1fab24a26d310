package extproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// noop answers CONTINUE to every message: the floor any ext_proc server
// pays for gRPC and protobuf, against which agentguard's cost is reported.
type noop struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (noop) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		req, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		var resp *extprocv3.ProcessingResponse
		switch req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
		case *extprocv3.ProcessingRequest_RequestBody:
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
		default:
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
		}
		if err := s.Send(resp); err != nil {
			return err
		}
	}
}

// toolsCall1K is a tools/call of about 1 KB, allowed by the default
// deployment for code-reviewer.
func toolsCall1K() []byte {
	pad := strings.Repeat("x", 800)
	return []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"acme","repo":"widgets","path":"pkg/server/handler.go","ref":"refs/heads/main","note":%q}}}`, pad))
}

func benchClient(b *testing.B, srv extprocv3.ExternalProcessorServer) extprocv3.ExternalProcessorClient {
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(gs, srv)
	go gs.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(); gs.Stop() })
	return extprocv3.NewExternalProcessorClient(conn)
}

// BenchmarkMCPRequestPath runs the full MCP request path as Envoy drives it
// (request headers, a 1 KB tools/call body, response headers) over gRPC,
// for agentguard and for a no-op server in the same run. Report the ratio.
func BenchmarkMCPRequestPath(b *testing.B) {
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
	servers := []struct {
		name string
		srv  extprocv3.ExternalProcessorServer
	}{{"noop", noop{}}, {"agentguard", New(eng, log)}}
	body := toolsCall1K()
	reqHeaders := headerMap(mcpHeaders(map[string]string{"x-agent-id": "code-reviewer", "x-mcp-server": "github"}))
	respHeaders := headerMap(map[string]string{":status": "200", "content-type": "application/json"})
	msgs := []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: reqHeaders}}},
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: respHeaders, EndOfStream: true}}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			client := benchClient(b, s.srv)
			ctx := metadata.AppendToOutgoingContext(context.Background(), ProfileMetadataKey, "mcp")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				st, err := client.Process(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, m := range msgs {
					if err := st.Send(m); err != nil {
						b.Fatal(err)
					}
					r, err := st.Recv()
					if err != nil {
						b.Fatal(err)
					}
					if r.GetImmediateResponse() != nil {
						b.Fatal("denied")
					}
				}
				_ = st.CloseSend()
				if _, err := st.Recv(); err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}
