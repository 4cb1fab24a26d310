// Package stack starts the whole chain an e2e test talks to: agentguard
// (in-process, on a loopback gRPC port, with a config of the test's
// choosing) behind Envoy — the e2e/harness test double by default, or a
// real Envoy when one is on the PATH or named by ENVOY_BIN — configured from
// envoy/envoy-local.yaml, with every cluster pointed at the test's servers.
package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/agentguard/agentguard/e2e/envoyconfig"
	"github.com/agentguard/agentguard/e2e/harness"
	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/extproc"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// Ports of the seed deployment's listeners.
const (
	Orchestrator uint32 = 9080
	Anthropic    uint32 = 9081
	OpenAI       uint32 = 9082
	MCP          uint32 = 9083
)

// Options choose what the stack runs.
type Options struct {
	// Config is agentguard's config; nil means the default deployment.
	Config []byte
	// EnvoyConfig is the bootstrap, relative to the repo root; default
	// envoy/envoy-local.yaml.
	EnvoyConfig string
	// Clusters maps Envoy cluster names to the test's servers ("127.0.0.1:port").
	Clusters map[string]string
}

// Stack is a running chain.
type Stack struct {
	Engine  *engine.Engine
	Metrics *telemetry.Metrics
	audit   *syncBuffer
	logs    *syncBuffer
	front   front
	// RealEnvoy is true when a real Envoy binary, not the harness, serves.
	RealEnvoy bool
}

// front is what stands where Envoy stands.
type front interface {
	Addr(port uint32) string
	Close() error
}

// Start builds and starts the chain; it stops at the test's end.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	cfg := o.Config
	if cfg == nil {
		cfg = policies.CodeReview
	}
	rt, err := engine.LoadFile("e2e.yaml", cfg)
	if err != nil {
		t.Fatalf("agentguard config: %v", err)
	}
	s := &Stack{Metrics: telemetry.NewMetrics(), audit: &syncBuffer{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.Engine = engine.New(rt, engine.Options{Log: log, Metrics: s.Metrics, Audit: telemetry.NewAuditor(s.audit)})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(extproc.MaxMessageBytes))
	extprocv3.RegisterExternalProcessorServer(gs, extproc.New(s.Engine, log))
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)

	path := o.EnvoyConfig
	if path == "" {
		path = "envoy/envoy-local.yaml"
	}
	b, err := envoyconfig.Load(filepath.Join(repoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{"agentguard": lis.Addr().String()}
	for k, v := range o.Clusters {
		clusters[k] = v
	}
	if bin := envoyBinary(); bin != "" {
		s.front = startEnvoy(t, bin, b, clusters)
		s.RealEnvoy = true
		return s
	}
	listen := map[uint32]string{}
	for _, port := range []uint32{Orchestrator, Anthropic, OpenAI, MCP} {
		listen[port] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := harness.Start(ctx, b, harness.Options{Listen: listen, Clusters: clusters, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.Close() })
	s.front = h
	return s
}

// URL is the base URL of the listener on port ("http://127.0.0.1:41234").
func (s *Stack) URL(port uint32) string { return "http://" + s.front.Addr(port) }

// Audit returns the audit log so far (JSON lines).
func (s *Stack) Audit() string { return s.audit.String() }

// Logs returns agentguard's own log so far.
func (s *Stack) Logs() string { return s.logs.String() }

func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func freePort(t testing.TB) uint32 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port)
}

func splitHostPort(t testing.TB, addr string) (string, uint32) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p uint32
	fmt.Sscan(port, &p)
	return host, p
}
