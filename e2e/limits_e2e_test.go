package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// TestLimitsSharedThroughRedis: two agentguard processes share one limit
// through a real redis-server. Under concurrent load on both, together they
// admit no more than the limit (± 1). With Redis killed they fail open to
// per-replica limits, counted; once Redis is back they share again.
func TestLimitsSharedThroughRedis(t *testing.T) {
	srv := startRedisServer(t)
	bin := agentguardBinary(t)
	const limit = 20
	// 20 an hour, burst 20: refill (one per 3 minutes) plays no part in
	// the counts. Generous timeouts: on a loaded machine a slow Redis
	// answer must not pass for a failure in the shared phases.
	cfg := fmt.Sprintf(`decision_timeout: 3s
audit: {output: "off"}
limits:
  backend: redis
  redis:
    address: %s
    timeout: 2s
    backoff: 300ms
    key_prefix: "e2e:"
agents:
  - name: code-reviewer
profiles:
  - name: mcp
    protocol: mcp
    identity: {sources: [header]}
    mcp:
      servers: [{name: github, cluster: github}]
      tools: [{id: everything, server: "*", allow: ["*"]}]
    limits:
      - id: shared-calls
        when: mcp.method == "tools/call"
        rate: %d
        per: 1h
        burst: %d
`, srv.addr(), limit, limit)
	path := filepath.Join(t.TempDir(), "limits.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := startAgentguard(t, bin, path), startAgentguard(t, bin, path)

	// Shared: 60 concurrent calls on each replica, 20 admitted in all.
	got := driveCalls(t, []*agentguardProc{a, b}, 60)
	t.Logf("shared: admitted %d + %d of 2×60", got[0], got[1])
	if total := got[0] + got[1]; total < limit-1 || total > limit+1 {
		t.Fatalf("shared: replicas admitted %d + %d = %d, want %d ± 1", got[0], got[1], total, limit)
	}
	if f := a.metric(t, `agentguard_limit_backend_failures_total{mode="open"}`) + b.metric(t, `agentguard_limit_backend_failures_total{mode="open"}`); f != 0 {
		t.Fatalf("Redis failures counted while it ran: %v", f)
	}
	if s := a.admin(t, "/limits"); !strings.Contains(s, `"key": "code-reviewer"`) || !strings.Contains(s, `"backend": "redis"`) {
		t.Errorf("admin /limits:\n%s", s)
	}

	// Redis killed mid-run: each replica falls back to its own limit.
	srv.kill()
	got = driveCalls(t, []*agentguardProc{a, b}, 40)
	t.Logf("Redis down: admitted %d + %d of 2×40", got[0], got[1])
	for i, n := range got {
		if n < limit-1 || n > limit+1 {
			t.Errorf("Redis down: replica %d admitted %d, want its own %d ± 1", i, n, limit)
		}
	}
	for i, p := range []*agentguardProc{a, b} {
		if f := p.metric(t, `agentguard_limit_backend_failures_total{mode="open"}`); f == 0 {
			t.Errorf("replica %d counted no backend failure", i)
		}
	}

	// Redis back (empty, as after a crash): after the back-off the
	// replicas share one limit again, by themselves.
	srv.start()
	time.Sleep(time.Second) // past the 300ms back-off: waiting, not measuring
	got = driveCalls(t, []*agentguardProc{a, b}, 60)
	t.Logf("recovered: admitted %d + %d of 2×60", got[0], got[1])
	if total := got[0] + got[1]; total < limit-1 || total > limit+1 {
		t.Fatalf("recovered: replicas admitted %d + %d = %d, want %d ± 1", got[0], got[1], total, limit)
	}
}

// driveCalls sends n tools/call requests to each replica at once, 8
// streams at a time per replica, and returns how many each admitted. Every
// request must be admitted or refused 429: nothing else.
func driveCalls(t *testing.T, procs []*agentguardProc, n int) []int {
	t.Helper()
	admitted := make([]atomic.Int64, len(procs))
	var wg sync.WaitGroup
	var failed atomic.Value
	for i, p := range procs {
		conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := extprocv3.NewExternalProcessorClient(conn)
		next := make(chan int, n)
		for j := range n {
			next <- j
		}
		close(next)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range next {
					ok, err := limitedCall(client, j)
					if err != nil {
						failed.Store(err)
						return
					}
					if ok {
						admitted[i].Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(procs))
	for i := range admitted {
		out[i] = int(admitted[i].Load())
	}
	return out
}

// limitedCall sends one tools/call through an ext_proc stream as Envoy
// would, and reports whether agentguard let it through.
func limitedCall(c extprocv3.ExternalProcessorClient, id int) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-agentguard-profile", "mcp")
	st, err := c.Process(ctx)
	if err != nil {
		return false, err
	}
	hv := func(kv ...string) *corev3.HeaderMap {
		m := &corev3.HeaderMap{}
		for i := 0; i < len(kv); i += 2 {
			m.Headers = append(m.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
		}
		return m
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_file_contents","arguments":{}}}`, id)
	msgs := []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hv(
			":method", "POST", ":path", "/mcp", ":authority", "mcp.local", "content-type", "application/json",
			"x-agent-id", "code-reviewer", "x-mcp-server", "github")}}},
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}},
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			return false, err
		}
		r, err := st.Recv()
		if err != nil {
			return false, err
		}
		if ir := r.GetImmediateResponse(); ir != nil {
			if code := ir.GetStatus().GetCode(); code != 429 {
				return false, fmt.Errorf("call %d answered %d: %s", id, code, ir.GetBody())
			}
			return false, st.CloseSend()
		}
	}
	if err := st.CloseSend(); err != nil {
		return false, err
	}
	if _, err := st.Recv(); err != io.EOF {
		return false, fmt.Errorf("stream end: %v", err)
	}
	return true, nil
}

// agentguardProc is one `agentguard serve` process on loopback ports.
type agentguardProc struct {
	grpc, metrics, adminAddr string
}

var addrRE = regexp.MustCompile(`"(grpc|metrics|admin)":"([0-9.:]+)"`)

func startAgentguard(t *testing.T, bin, config string) *agentguardProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", config, "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--health-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan *agentguardProc, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			logs.WriteString(line + "\n")
			mu.Unlock()
			if sent || !strings.Contains(line, "agentguard serving") {
				continue
			}
			p := &agentguardProc{}
			for _, m := range addrRE.FindAllStringSubmatch(line, -1) {
				switch m[1] {
				case "grpc":
					p.grpc = m[2]
				case "metrics":
					p.metrics = m[2]
				case "admin":
					p.adminAddr = m[2]
				}
			}
			found <- p
			sent = true
		}
		if !sent {
			close(found)
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("agentguard log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	select {
	case p, ok := <-found:
		if !ok {
			t.Fatal("agentguard exited before serving")
		}
		return p
	case <-time.After(60 * time.Second):
		t.Fatal("agentguard did not report its addresses")
	}
	return nil
}

func (p *agentguardProc) get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p *agentguardProc) admin(t *testing.T, path string) string {
	return p.get(t, "http://"+p.adminAddr+path)
}

// metric reads one series from /metrics; 0 when absent.
func (p *agentguardProc) metric(t *testing.T, series string) float64 {
	t.Helper()
	for line := range strings.Lines(p.get(t, "http://"+p.metrics+"/metrics")) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// agentguardBinary is $AGENTGUARD_BIN, or agentguard built for this test.
func agentguardBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AGENTGUARD_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "agentguard")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/agentguard")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build agentguard: %v\n%s", err, b)
	}
	return out
}

// redisServer is a redis-server of the test's own on a free loopback
// port, killed in Cleanup (as in pkg/limits; test helpers do not cross
// packages). scripts/redis.sh installs the binary.
type redisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin := findRedisServer()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found: run scripts/redis.sh (make test does)")
		}
		t.Skip("redis-server not found: run scripts/redis.sh")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: port}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func findRedisServer() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server on s.port, empty, and waits until it answers.
func (s *redisServer) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s not ready: %v", s.addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill ends the server at once, as a crash would.
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}
