package limits

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of the test's own on a free loopback port,
// stopped in Cleanup. scripts/redis.sh installs the binary.
type redisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// redisBinary finds redis-server; when it is missing the test fails in CI
// and is skipped elsewhere.
func redisBinary(t testing.TB) string {
	t.Helper()
	bin := findRedis()
	if bin != "" {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("redis-server not found: run scripts/redis.sh")
	}
	t.Skip("redis-server not found: run scripts/redis.sh")
	return ""
}

func findRedis() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	s := &redisServer{t: t, bin: redisBinary(t), dir: t.TempDir(), port: freePort(t)}
	s.start()
	t.Cleanup(s.close)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server on s.port and waits until it answers PING.
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
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// pause freezes the server: connections stay open, replies never come.
func (s *redisServer) pause()  { s.signal(syscall.SIGSTOP) }
func (s *redisServer) resume() { s.signal(syscall.SIGCONT) }

func (s *redisServer) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

func (s *redisServer) close() { s.kill() }

// client returns a client as the engine should build one: context
// deadlines honoured, socket timeouts long, so that only the store's
// per-call timeout can end a call early.
func (s *redisServer) client(t testing.TB, hooks ...redis.Hook) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                  s.addr(),
		ContextTimeoutEnabled: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		DialTimeout:           30 * time.Second,
	})
	for _, h := range hooks {
		c.AddHook(h)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// countHook counts the commands a client sends (a pipeline counts each of
// its commands), to show the round trips per decision.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// clock is an injectable clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// failures counts what OnFailure was told.
type failures struct {
	mu   sync.Mutex
	errs []error
}

func (f *failures) add(err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

func (f *failures) list() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// backend is one Store under test.
type backend struct {
	name  string
	store interface {
		Store
		Reader
	}
}

// eachBackend runs f as a subtest on a fresh Memory and a fresh Redis
// (its own server), both on a clock starting at start.
func eachBackend(t *testing.T, start time.Time, f func(t *testing.T, b backend, clk *clock)) {
	t.Run("memory", func(t *testing.T) {
		clk := newClock(start)
		f(t, backend{"memory", NewMemory(clk.Now)}, clk)
	})
	t.Run("redis", func(t *testing.T) {
		clk := newClock(start)
		srv := startRedis(t)
		f(t, backend{"redis", newTestRedis(t, srv.client(t), clk)}, clk)
	})
}

// newTestRedis is a Redis store on clk that fails the test on any failure.
// Its timeout is generous: on a loaded machine a call can take longer than
// 25 ms, and these tests are not about timeouts.
func newTestRedis(t testing.TB, c redis.UniversalClient, clk *clock) *Redis {
	t.Helper()
	r, err := NewRedis(RedisConfig{Client: c, Prefix: "test:", Now: clk.Now, Timeout: 5 * time.Second,
		OnFailure: func(err error) { t.Errorf("redis failure: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
