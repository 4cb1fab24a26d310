package mcpservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths inside e2e/node of the npm peers, pinned in e2e/node/package.json.
const (
	everythingEntry = "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
	inspectorEntry  = "node_modules/@modelcontextprotocol/inspector-cli/build/cli.js"
	loopbackPreload = "loopback.cjs"
	listeningMarker = "AGENTGUARD_E2E_LISTENING "
)

// NodeDir is the absolute path of e2e/node: $AGENTGUARD_E2E_NODE_DIR when
// set, else found from this source file's place in the tree.
func NodeDir() string {
	if d := os.Getenv("AGENTGUARD_E2E_NODE_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("e2e", "node")
	}
	return filepath.Join(filepath.Dir(file), "..", "node")
}

var nodeDeps struct {
	once sync.Once
	out  []byte
	err  error
}

// RequireNode makes sure node and npm are installed and e2e/node's
// node_modules is current, running e2e/scripts/node-deps.sh once per test
// process. Without node or npm it fails the test when $CI is set and skips
// it otherwise; a failed install fails the test.
func RequireNode(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is not installed: the npm MCP peers (server-everything, inspector-cli) need Node.js >= 20 and npm (Debian: apt-get install nodejs npm)", tool)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	nodeDeps.once.Do(func() {
		script := filepath.Join(NodeDir(), "..", "scripts", "node-deps.sh")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		nodeDeps.out, nodeDeps.err = exec.CommandContext(ctx, "bash", script).CombinedOutput()
	})
	if nodeDeps.err != nil {
		t.Fatalf("e2e/scripts/node-deps.sh: %v\n%s", nodeDeps.err, nodeDeps.out)
	}
}

// StartEverything runs @modelcontextprotocol/server-everything in
// Streamable HTTP mode:
//
//	PORT=0 node --require e2e/node/loopback.cjs \
//	  node_modules/@modelcontextprotocol/server-everything/dist/index.js streamableHttp
//
// bound to 127.0.0.1 on a free port (loopback.cjs pins the host and reports
// the port), waits until it answers HTTP, and returns its endpoint
// ("http://127.0.0.1:PORT/mcp"). It is stateful (Mcp-Session-Id, GET
// stream, DELETE) and answers POSTs in SSE. Its process group is killed when
// ctx ends or the test is cleaned up; its output is logged if the test fails.
func StartEverything(ctx context.Context, t testing.TB) string {
	t.Helper()
	RequireNode(t)
	dir := NodeDir()

	cmd := exec.Command("node", "--require", "./"+loopbackPreload, everythingEntry, "streamableHttp")
	cmd.Dir = dir
	// A minimal environment: server-everything's get-env tool returns its
	// whole environment to any client.
	cmd.Env = []string{"PORT=0", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	setProcessGroup(cmd)
	out := &lockedBuffer{}
	port := make(chan string, 1)
	cmd.Stdout = out
	cmd.Stderr = &markerWriter{out: out, found: port}
	if err := cmd.Start(); err != nil {
		t.Fatalf("server-everything: start: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		killProcessGroup(cmd)
		select {
		case <-exited:
		case <-time.After(5 * time.Second): // SIGKILL cannot be ignored; don't hang a test on it
		}
	}
	var stopOnce sync.Once
	t.Cleanup(func() {
		stopOnce.Do(stop)
		if t.Failed() {
			t.Logf("server-everything output:\n%s", out.String())
		}
	})
	go func() {
		select {
		case <-ctx.Done():
			stopOnce.Do(stop)
		case <-exited:
		}
	}()

	var url string
	select {
	case p := <-port:
		url = "http://127.0.0.1:" + p + "/mcp"
	case <-exited:
		t.Fatalf("server-everything exited before listening:\n%s", out.String())
	case <-ctx.Done():
		t.Fatalf("server-everything: %v", ctx.Err())
	case <-time.After(60 * time.Second):
		t.Fatalf("server-everything did not listen within 60s:\n%s", out.String())
	}
	if err := waitAnswers(ctx, url, 30*time.Second); err != nil {
		t.Fatalf("server-everything at %s: %v\n%s", url, err, out.String())
	}
	return url
}

// waitAnswers polls url with a GET until the server answers at all (any
// HTTP status: server-everything answers a GET without a session 400).
func waitAnswers(ctx context.Context, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Inspector runs @modelcontextprotocol/inspector-cli non-interactively
// against the Streamable HTTP endpoint url and returns its stdout (the
// method's JSON result). It runs
//
//	cd e2e/node/node_modules/@modelcontextprotocol/inspector-cli/build
//	node cli.js --cli <url> --transport http <args...> --header "<k>: <v>" ...
//
// where args choose the method, e.g.
//
//	"--method", "tools/list"
//	"--method", "tools/call", "--tool-name", "get_issue",
//	    "--tool-arg", "owner=acme", "repo=api", "issue_number=7"
//
// (string tool arguments are converted with the tool's input schema, so
// issue_number=7 is sent as the number 7). The inspector sends each header
// on every HTTP request. A non-zero exit (a JSON-RPC error answer among
// them: the inspector prints "Failed to call tool X: MCP error <code>:
// <message>") is returned as an error carrying stderr, with whatever stdout
// held. Without a deadline on ctx, the run is limited to 2 minutes.
func Inspector(ctx context.Context, t testing.TB, url string, headers map[string]string, args ...string) ([]byte, error) {
	t.Helper()
	RequireNode(t)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}
	argv := append([]string{filepath.Base(inspectorEntry), "--cli", url, "--transport", "http"}, args...)
	// Headers last: --header is variadic in the inspector's parser and
	// would swallow a positional argument that followed it.
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		argv = append(argv, "--header", k+": "+headers[k])
	}
	cmd := exec.CommandContext(ctx, "node", argv...)
	// inspector-cli 1.0.3 reads its own package.json with
	// existsSync("../package.json") (relative to the working directory)
	// but import("../package.json") (relative to build/index.js): it runs
	// only where the two agree, i.e. from its build directory.
	cmd.Dir = filepath.Join(NodeDir(), filepath.Dir(inspectorEntry))
	setProcessGroup(cmd)
	// cli.js runs the real client as a child node process: kill the group.
	cmd.Cancel = func() error { killProcessGroup(cmd); return nil }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return stdout.Bytes(), fmt.Errorf("inspector-cli %s: %w\nstderr:\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// markerWriter copies a process's stderr to out and sends the port of the
// first "AGENTGUARD_E2E_LISTENING <port>" line (from loopback.cjs) on found.
type markerWriter struct {
	out   io.Writer
	found chan<- string
	line  []byte
	done  bool
}

func (w *markerWriter) Write(p []byte) (int, error) {
	if _, err := w.out.Write(p); err != nil {
		return 0, err
	}
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if port, ok := strings.CutPrefix(string(w.line[:i]), listeningMarker); ok {
			w.found <- strings.TrimSpace(port)
			w.done, w.line = true, nil
			break
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
