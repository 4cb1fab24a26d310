package extauthz

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// FuzzCheck feeds arbitrary requests through Check: every answer must be a
// CheckResponse (never a gRPC error, which failure_mode_allow would turn
// into an allow), encodable on the wire, and a denial must carry a status.
func FuzzCheck(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "/mcp", xfcc(reviewer), "github", uint8(0), false)
		f.Add(b, "/v1/chat/completions", "", "", uint8(1), false)
	}
	f.Add([]byte(`{"model":"claude`), "/v1/messages", xfcc(reviewer), "", uint8(2), true)
	f.Add([]byte{}, "/webhook/../x", "", "", uint8(3), false)
	f.Add([]byte("\xff\xfe"), "/%2e%2e", `URI="`, "\xff", uint8(4), false)

	f.Setenv("OPENAI_API_KEY", openaiKey)
	f.Setenv("ANTHROPIC_API_KEY", anthropicKey)
	f.Setenv("GITHUB_WEBHOOK_SECRET", hookSecret)
	rt, err := engine.LoadFile("fuzz", policies.CodeReview)
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := New(engine.New(rt, engine.Options{Log: log, Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(io.Discard)}), log)
	profiles := []string{"mcp", "openai", "anthropic", "orchestrator", "nope"}
	f.Fuzz(func(t *testing.T, body []byte, path, xfccValue, server string, profile uint8, partial bool) {
		c := check{profile: profiles[int(profile)%len(profiles)], body: body, partial: partial,
			headers: map[string]string{":path": path, "x-forwarded-client-cert": xfccValue, "x-mcp-server": server}}
		if len(body) == 0 {
			c.body = nil
		}
		resp, err := s.Check(context.Background(), c.request())
		if err != nil {
			t.Fatalf("gRPC error: %v", err)
		}
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("answer cannot be sent: %v", err)
		}
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			d := resp.GetDeniedResponse()
			if d == nil || d.GetStatus().GetCode() == 0 {
				t.Fatalf("denial without a status: %v", resp)
			}
			return
		}
		if _, ok := resp.GetHttpResponse().(*authv3.CheckResponse_OkResponse); !ok {
			t.Fatalf("OK without ok_response: %v", resp)
		}
	})
}
