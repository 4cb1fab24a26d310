// Command load drives ext_proc streams at a running agentguard and at a
// no-op ext_proc server, in one run and on the same machine, and reports
// agentguard's cost as ratios to the no-op: throughput, latency and server
// CPU per request. The machine is shared and noisy; only the ratios mean
// much. It is a test tool: loopback only, bounded in time, it stops itself.
//
//	go run ./e2e/load -agentguard bin/agentguard -duration 5s -concurrency 8
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"gopkg.in/yaml.v3"

	"github.com/agentguard/agentguard/policies"
)

func main() {
	bin := flag.String("agentguard", "bin/agentguard", "agentguard binary")
	dur := flag.Duration("duration", 5*time.Second, "measurement time per round and target")
	rounds := flag.Int("rounds", 3, "alternating rounds per target")
	conc := flag.Int("concurrency", 8, "concurrent streams")
	noopAddr := flag.String("serve-noop", "", "internal: serve the no-op ext_proc server on this address")
	target := flag.String("target", "", "drive an already running ext_proc server at this address instead (no ratios)")
	flag.Parse()
	if *noopAddr != "" {
		serveNoop(*noopAddr)
		return
	}
	if *dur > time.Minute || *rounds > 10 {
		log.Fatal("bounded runs only: duration <= 1m, rounds <= 10")
	}
	if *target != "" {
		r := run(&server{addr: *target}, *dur, *conc)
		fmt.Printf("%s: %.0f req/s, p50 %s, p99 %s, errors %d\n", *target, r.rate(), r.pct(50), r.pct(99), r.errors)
		return
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	noop := startServer(self, "-serve-noop", "127.0.0.1:0")
	defer noop.stop()
	cfg, err := configWithoutLimits()
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(cfg)
	ag := startServer(*bin, "serve", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--health-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	defer ag.stop()

	results := map[string]*result{"noop": {}, "agentguard": {}}
	for r := 0; r < *rounds; r++ {
		for _, t := range []struct {
			name string
			s    *server
		}{{"noop", noop}, {"agentguard", ag}} {
			res := run(t.s, *dur, *conc)
			results[t.name].merge(res)
		}
	}
	n, a := results["noop"], results["agentguard"]
	fmt.Printf("workload: MCP tools/call (1 KB body) — request headers, body, response headers; %d streams, %d×%s per target\n", *conc, *rounds, *dur)
	fmt.Printf("%-11s %10s %10s %10s %10s %14s\n", "server", "req/s", "p50", "p90", "p99", "CPU/request")
	for _, name := range []string{"noop", "agentguard"} {
		r := results[name]
		fmt.Printf("%-11s %10.0f %10s %10s %10s %14s\n", name, r.rate(), r.pct(50), r.pct(90), r.pct(99), r.cpuPerReq())
	}
	fmt.Printf("ratio agentguard/noop: throughput %.2f, p50 %.2f, p99 %.2f, server CPU/request %.2f\n",
		a.rate()/n.rate(), float64(a.pct(50))/float64(n.pct(50)), float64(a.pct(99))/float64(n.pct(99)),
		float64(a.cpuPerReq())/float64(n.cpuPerReq()))
	if a.errors > 0 || n.errors > 0 {
		fmt.Printf("errors: noop %d, agentguard %d\n", n.errors, a.errors)
		os.Exit(1)
	}
}

type server struct {
	cmd  *exec.Cmd
	addr string
}

// startServer runs a server process and reads its gRPC address from its
// log: agentguard logs "grpc":"127.0.0.1:port", the no-op prints it.
func startServer(bin string, args ...string) *server {
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stderr, cmd.Stdout = pw, io.Discard
	if err := cmd.Start(); err != nil {
		log.Fatalf("start %s: %v", bin, err)
	}
	found := make(chan string, 1)
	go func() {
		buf := make([]byte, 64<<10)
		var acc strings.Builder
		for {
			n, err := pr.Read(buf)
			acc.Write(buf[:n])
			s := acc.String()
			if i := strings.Index(s, `"grpc":"`); i >= 0 {
				rest := s[i+8:]
				if j := strings.IndexByte(rest, '"'); j >= 0 {
					found <- rest[:j]
					break
				}
			}
			if err != nil {
				close(found)
				return
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a, ok := <-found:
		if !ok {
			log.Fatalf("%s exited before serving", bin)
		}
		return &server{cmd: cmd, addr: a}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		log.Fatalf("%s did not report its address", bin)
	}
	return nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// cpu returns the process's user+system CPU time so far (Linux /proc).
func (s *server) cpu() time.Duration {
	if s.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

type result struct {
	n, errors int64
	elapsed   time.Duration
	cpu       time.Duration
	lat       []time.Duration
}

func (r *result) merge(o *result) {
	r.n += o.n
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.lat = append(r.lat, o.lat...)
}

func (r *result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[(len(r.lat)-1)*p/100].Round(time.Microsecond)
}

func (r *result) cpuPerReq() time.Duration {
	if r.n == 0 {
		return 0
	}
	return (r.cpu / time.Duration(r.n)).Round(100 * time.Nanosecond)
}

var body = []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"acme","repo":"widgets","path":"pkg/server/handler.go","ref":"refs/heads/main","note":"` + strings.Repeat("x", 820) + `"}}}`)

func messages() []*extprocv3.ProcessingRequest {
	hv := func(kv ...string) *corev3.HeaderMap {
		m := &corev3.HeaderMap{}
		for i := 0; i < len(kv); i += 2 {
			m.Headers = append(m.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
		}
		return m
	}
	return []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hv(
			":method", "POST", ":path", "/mcp", ":authority", "mcp.local", "content-type", "application/json",
			"x-agent-id", "code-reviewer", "x-mcp-server", "github", "x-request-id", "load")}}},
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
			Headers: hv(":status", "200", "content-type", "application/json"), EndOfStream: true}}},
	}
}

func run(s *server, dur time.Duration, conc int) *result {
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := extprocv3.NewExternalProcessorClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-agentguard-profile", "mcp")
	msgs := messages()
	var n, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	cpu0 := s.cpu()
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := oneStream(ctx, client, msgs); err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return &result{n: n.Load(), errors: errs.Load(), elapsed: time.Since(start), cpu: s.cpu() - cpu0, lat: lat}
}

func oneStream(ctx context.Context, c extprocv3.ExternalProcessorClient, msgs []*extprocv3.ProcessingRequest) error {
	st, err := c.Process(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			return err
		}
		r, err := st.Recv()
		if err != nil {
			return err
		}
		if r.GetImmediateResponse() != nil {
			return fmt.Errorf("denied: %s", r.GetImmediateResponse().GetBody())
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if _, err := st.Recv(); err != io.EOF {
		return fmt.Errorf("stream end: %v", err)
	}
	return nil
}

// noopServer answers CONTINUE to every message.
type noopServer struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (noopServer) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		req, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		resp := &extprocv3.ProcessingResponse{}
		switch req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			resp.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}
		case *extprocv3.ProcessingRequest_RequestBody:
			resp.Response = &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			resp.Response = &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}
		default:
			resp.Response = &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}
		}
		if err := s.Send(resp); err != nil {
			return err
		}
	}
}

func serveNoop(addr string) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, `{"msg":"noop serving","grpc":"%s"}`+"\n", lis.Addr())
	gs := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(gs, noopServer{})
	go func() {
		time.Sleep(15 * time.Minute) // stops by itself even if orphaned
		os.Exit(0)
	}()
	_ = gs.Serve(lis)
}

// configWithoutLimits writes the default deployment without its rate
// limits, which a load run would exhaust in its first second, to a
// temporary file.
func configWithoutLimits() (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(policies.CodeReview, &doc); err != nil {
		return "", err
	}
	profiles, _ := doc["profiles"].([]any)
	for _, p := range profiles {
		if m, ok := p.(map[string]any); ok {
			delete(m, "limits")
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "agentguard-load-*.yaml")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.Write(out)
	return f.Name(), err
}
