package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentguard/agentguard/policies"
)

// These tests build the real binary and talk to it as a user does: grpcurl
// over reflection, curl-style HTTP, signals.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// buildBinary builds agentguard once per test run, with the race detector.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "agentguard-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "agentguard")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func grpcurlPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GRPCURL"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("grpcurl not found; `make test` installs it into ./bin")
	}
	t.Skip("grpcurl not found; run `make tools` (make test does)")
	return ""
}

// process is a running agentguard.
type process struct {
	cmd    *exec.Cmd
	addrs  map[string]string
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	args = append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--health-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--drain-timeout", "5s"}, args...)
	cmd := exec.Command(bin, args...)
	// Provider keys and the webhook secret, so the test can prove they never
	// come back out of the process.
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY="+binOpenAIKey, "ANTHROPIC_API_KEY="+binAnthropicKey, "GITHUB_WEBHOOK_SECRET="+binWebhookSecret)
	p := &process{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout = p.stdout
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	found := make(chan map[string]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "agentguard serving" {
				m := map[string]string{}
				for _, k := range []string{"grpc", "metrics", "health", "admin"} {
					m[k], _ = rec[k].(string)
				}
				found <- m
			}
		}
		close(found)
	}()
	select {
	case m, ok := <-found:
		if !ok {
			t.Fatalf("agentguard exited before serving:\n%s", p.stderr.String())
		}
		p.addrs = m
	case <-time.After(30 * time.Second):
		t.Fatalf("agentguard did not log its addresses:\n%s", p.stderr.String())
	}
	go io.Copy(io.Discard, pr) // keep draining stderr
	return p
}

func (p *process) get(t *testing.T, which, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.addrs[which] + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// grpcurl runs grpcurl against the process and returns its output.
func grpcurl(t *testing.T, gc string, p *process, stdin string, flags []string, method string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"-plaintext"}, flags...), p.addrs["grpc"])
	if method != "" {
		args = append(args, method)
	}
	cmd := exec.CommandContext(ctx, gc, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// processCall is one ext_proc stream carrying a tools/call as Envoy sends it.
func processCall(t *testing.T, gc string, p *process, tool string) string {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"owner":"acme","repo":"w"}}}`, tool)
	tmpl, err := os.ReadFile("testdata/allowed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Replace(string(tmpl), "BODY", base64.StdEncoding.EncodeToString([]byte(body)), 1)
	return grpcurl(t, gc, p, in, []string{"-rpc-header", "x-agentguard-profile: mcp", "-d", "@"},
		"envoy.service.ext_proc.v3.ExternalProcessor/Process")
}

func metricValue(t *testing.T, metrics, series string) string {
	t.Helper()
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

const (
	binOpenAIKey     = "sk-bin-OPENAI-KEYSECRET-0123456789"
	binAnthropicKey  = "sk-ant-bin-ANTHROPIC-KEYSECRET-0123"
	binWebhookSecret = "bin-WEBHOOK-KEYSECRET"
)

func TestServeWithGrpcurl(t *testing.T) {
	gc := grpcurlPath(t)
	bin := buildBinary(t)
	cfg := filepath.Join(t.TempDir(), "agentguard.yaml")
	if err := os.WriteFile(cfg, policies.CodeReview, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, bin, "--config", cfg)

	if code, body := p.get(t, "health", "/healthz/ready"); code != 200 {
		t.Fatalf("ready: %d %s", code, body)
	}
	list := grpcurl(t, gc, p, "", nil, "list")
	for _, svc := range []string{"envoy.service.ext_proc.v3.ExternalProcessor", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(list, svc) {
			t.Errorf("reflection lacks %s:\n%s", svc, list)
		}
	}
	if out := grpcurl(t, gc, p, "", nil, "grpc.health.v1.Health/Check"); !strings.Contains(out, "SERVING") {
		t.Errorf("health: %s", out)
	}

	allowed := processCall(t, gc, p, "get_pull_request")
	if !strings.Contains(allowed, base64.StdEncoding.EncodeToString([]byte("github"))) ||
		!strings.Contains(allowed, `"clearRouteCache": true`) || strings.Contains(allowed, "immediateResponse") {
		t.Errorf("allowed call answered:\n%s", allowed)
	}
	denied := processCall(t, gc, p, "delete_repository")
	if !strings.Contains(denied, `"immediateResponse"`) || !strings.Contains(denied, `"code": "Forbidden"`) {
		t.Fatalf("denied call answered:\n%s", denied)
	}
	if !strings.Contains(decodeBodies(t, denied), `"code":-32051`) {
		t.Errorf("denial is not a JSON-RPC error: %s", decodeBodies(t, denied))
	}

	_, metrics := p.get(t, "metrics", "/metrics")
	if v := metricValue(t, metrics, `agentguard_requests_total{agent="code-reviewer",decision="deny",profile="mcp"}`); v != "1" {
		t.Errorf("deny counter %q", v)
	}
	if v := metricValue(t, metrics, `agentguard_mcp_calls_total{decision="allow",method="tools/call",server="github",tool="get_pull_request"}`); v != "1" {
		t.Errorf("mcp calls counter %q", v)
	}
	code, dump := p.get(t, "admin", "/config_dump")
	if code != 200 || !strings.Contains(dump, `"code-reviewer-github"`) {
		t.Errorf("config_dump %d: %.200s", code, dump)
	}

	// An invalid config is rejected on SIGHUP; the last good one serves on.
	if err := os.WriteFile(cfg, []byte("profiles: [{name: x, protocol: nope}]\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	waitMetric(t, p, `agentguard_config_reloads_total{result="rejected"}`)
	if out := processCall(t, gc, p, "get_pull_request"); strings.Contains(out, "immediateResponse") {
		t.Errorf("last good config not serving after a rejected reload:\n%s", out)
	}
	// A valid change is picked up from the file itself.
	changed := strings.Replace(string(policies.CodeReview), "            - get_pull_request\n", "", 1)
	if err := os.WriteFile(cfg, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, p, `agentguard_config_reloads_total{result="applied"} 2`)
	if out := processCall(t, gc, p, "get_pull_request"); !strings.Contains(out, "immediateResponse") {
		t.Errorf("reloaded config not applied:\n%s", out)
	}

	// An OpenAI call: the key is injected (in the answer to Envoy, where it
	// belongs) and must appear nowhere else.
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	llm := fmt.Sprintf(`{"request_headers":{"headers":{"headers":[{"key":":method","raw_value":%q},{"key":":path","raw_value":%q},{"key":"x-agent-id","raw_value":%q},{"key":"authorization","raw_value":%q}]}}}
{"request_body":{"body":%q,"end_of_stream":true}}`, b64("POST"), b64("/v1/chat/completions"), b64("code-reviewer"), b64("Bearer agent-key"),
		b64(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	out := grpcurl(t, gc, p, llm, []string{"-rpc-header", "x-agentguard-profile: openai", "-d", "@"}, "envoy.service.ext_proc.v3.ExternalProcessor/Process")
	if !strings.Contains(out, b64("Bearer "+binOpenAIKey)) {
		t.Errorf("provider key not injected:\n%s", out)
	}
	_, metrics = p.get(t, "metrics", "/metrics")

	// SIGTERM: drain and exit 0.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
		p.done <- err // for Cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	// No key or secret in anything the process said.
	for where, text := range map[string]string{"metrics": metrics, "config_dump": dump, "audit": p.stdout.String(), "logs": p.stderr.String()} {
		if strings.Contains(text, "KEYSECRET") {
			t.Errorf("a provider key or the webhook secret is in the %s", where)
		}
	}
	// The audit log: one JSON line per request, no argument values for
	// tools not marked loggable.
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if len(lines) < 4 {
		t.Fatalf("audit lines: %d\n%s", len(lines), p.stdout.String())
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("audit line is not JSON: %s", l)
		}
	}
}

func waitMetric(t *testing.T, p *process, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, m := p.get(t, "metrics", "/metrics")
		if strings.Contains(m, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("metric %s never appeared\n%s", want, p.stderr.String())
}

// decodeBodies decodes the base64 "body" fields grpcurl prints.
func decodeBodies(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if ir, ok := m["immediateResponse"].(map[string]any); ok {
			if s, ok := ir["body"].(string); ok {
				raw, _ := base64.StdEncoding.DecodeString(s)
				b.Write(raw)
			}
		}
	}
	return b.String()
}

func TestValidateExitCodes(t *testing.T) {
	bin := buildBinary(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("failure_mode: sideways\nprofiles:\n  - name: m\n    protocol: mcp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "validate", "--config", bad).CombinedOutput()
	if err == nil {
		t.Fatalf("validate accepted a bad config:\n%s", out)
	}
	for _, want := range []string{"bad.yaml:1: failure_mode", "bad.yaml:3: profiles[0].mcp: required"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if out, err := exec.Command(bin, "validate").CombinedOutput(); err != nil {
		t.Errorf("embedded default invalid: %v\n%s", err, out)
	}
	evalOut, err := exec.Command(bin, "eval", "--profile", "mcp", "-H", "x-agent-id: triage-bot", "-H", "x-mcp-server: github",
		"--body", "testdata/../../../pkg/extproc/testdata/tools_call_get_pr.json").CombinedOutput()
	if err == nil || !strings.Contains(string(evalOut), "decision: deny") || !strings.Contains(string(evalOut), "rule:     builtin:tool-not-allowed") {
		t.Errorf("eval: %v\n%s", err, evalOut)
	}
}
