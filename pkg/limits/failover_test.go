package limits

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// slack is how much longer than its timeout a call may take before the
// test calls it blocked. Loose on purpose: the machine is shared; a call
// that ignored the timeout would wait for the client's 30 s socket timeout.
const slack = 2 * time.Second

// failover is a Redis store on its own server, clock and failure log.
type failover struct {
	srv  *redisServer
	hook *countHook
	clk  *clock
	f    *failures
	r    *Redis
	max  time.Duration // longest call seen, by the wall clock
}

func newFailover(t *testing.T, mode FailMode) *failover {
	t.Helper()
	fo := &failover{srv: startRedis(t), hook: &countHook{}, clk: newClock(epoch), f: &failures{}}
	// 200 ms rather than the default 25: on a loaded machine a healthy call
	// must not time out, or the failure counts below would be off.
	r, err := NewRedis(RedisConfig{Client: fo.srv.client(t, fo.hook), FailMode: mode, Backoff: time.Second, Timeout: 200 * time.Millisecond,
		Now: fo.clk.Now, OnFailure: fo.f.add})
	if err != nil {
		t.Fatal(err)
	}
	fo.r = r
	t.Cleanup(func() { t.Logf("longest call %v (timeout %v)", fo.max, r.timeout) })
	return fo
}

// take calls Take, timing it by the wall clock.
func (fo *failover) take(t *testing.T, s Spec, n float64) Decision {
	t.Helper()
	start := time.Now()
	d, err := fo.r.Take(context.Background(), "k", s, n)
	took := time.Since(start)
	fo.max = max(fo.max, took)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	if took > fo.r.timeout+slack {
		t.Fatalf("Take blocked %v with a %v timeout", took, fo.r.timeout)
	}
	return d
}

// counts splits the failures seen into back-off skips and real errors.
func (fo *failover) counts() (skipped, failed int) {
	for _, err := range fo.f.list() {
		if errors.Is(err, ErrBackoff) {
			skipped++
		} else {
			failed++
		}
	}
	return skipped, failed
}

func wantCounts(t *testing.T, fo *failover, skipped, failed int) {
	t.Helper()
	if s, f := fo.counts(); s != skipped || f != failed {
		t.Fatalf("failures: %d skipped, %d failed; want %d, %d: %v", s, f, skipped, failed, fo.f.list())
	}
}

var burst3 = Spec{Name: "rph", Rate: 1, Period: time.Hour, Burst: 3}

func TestRedisKilledFailOpen(t *testing.T) {
	fo := newFailover(t, FailOpen)
	for range 2 {
		if d := fo.take(t, burst3, 1); !d.Allowed {
			t.Fatalf("before the crash: %+v", d)
		}
	}
	fo.srv.kill()
	// The replica's own limiter takes over: a fresh bucket of 3, exact.
	for i, want := range []bool{true, true, true, false} {
		if d := fo.take(t, burst3, 1); d.Allowed != want || d.Reason == Unavailable {
			t.Fatalf("fallback take %d: %+v", i, d)
		}
	}
	wantCounts(t, fo, 3, 1) // one call found Redis gone; the rest skipped it
	sent := fo.hook.n.Load()
	fo.take(t, burst3, 0)
	if fo.hook.n.Load() != sent {
		t.Fatal("a call during the back-off went to Redis")
	}

	fo.srv.start()
	fo.clk.Add(time.Second) // back-off over: the next call probes
	d := fo.take(t, burst3, 1)
	// Redis came back empty (no persistence): its bucket is fresh.
	if !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after recovery: %+v", d)
	}
	wantCounts(t, fo, 4, 1)
	if fo.r.downUntil.Load() != 0 {
		t.Fatal("still in back-off after a successful probe")
	}
	if n, _ := fo.srv.client(t).Exists(context.Background(), "r:k").Result(); n != 1 {
		t.Fatal("the decision after recovery did not reach Redis")
	}
}

func TestRedisKilledFailClosed(t *testing.T) {
	fo := newFailover(t, FailClosed)
	if d := fo.take(t, burst3, 1); !d.Allowed {
		t.Fatalf("before the crash: %+v", d)
	}
	fo.srv.kill()
	want := Decision{Reason: Unavailable, Limit: 3, RetryAfter: time.Second}
	for i := range 3 {
		if d := fo.take(t, burst3, 1); d != want {
			t.Fatalf("take %d with Redis down: %+v, want %+v", i, d, want)
		}
	}
	wantCounts(t, fo, 2, 1)
	// An Adjust while down is counted and dropped, not an error.
	if err := fo.r.Adjust(context.Background(), "k", burst3, time.Time{}, 1); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, fo, 3, 1)

	fo.srv.start()
	fo.clk.Add(500 * time.Millisecond)
	if d := fo.take(t, burst3, 1); d != want {
		t.Fatalf("still in back-off: %+v", d)
	}
	fo.clk.Add(500 * time.Millisecond)
	if d := fo.take(t, burst3, 1); !d.Allowed {
		t.Fatalf("after recovery: %+v", d)
	}
	wantCounts(t, fo, 4, 1)
}

// A Redis that accepts but never answers costs one call its timeout; the
// calls after it skip Redis, and when the back-off ends exactly one of
// many concurrent calls probes.
func TestRedisHungTimeout(t *testing.T) {
	fo := newFailover(t, FailOpen)
	fo.take(t, burst3, 1) // a pooled connection, then the server freezes
	fo.srv.pause()
	defer fo.srv.resume()
	if d := fo.take(t, burst3, 1); !d.Allowed {
		t.Fatalf("fail open: %+v", d)
	}
	errs := fo.f.list()
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("failures %v, want one timeout", errs)
	}

	fo.clk.Add(time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fo.r.Take(context.Background(), "k", burst3, 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	timeouts := 0
	for _, err := range fo.f.list()[1:] {
		if errors.Is(err, context.DeadlineExceeded) {
			timeouts++
		}
	}
	if timeouts != 1 {
		t.Fatalf("%d of 8 concurrent calls probed the hung Redis, want 1: %v", timeouts, fo.f.list())
	}

	fo.srv.resume()
	fo.clk.Add(time.Second)
	// Redis kept its state. The call that timed out may have been applied
	// too once the server woke (a timeout cannot tell), so 1 or 2 of 3 were
	// taken before this one.
	if d := fo.take(t, burst3, 1); !d.Allowed || d.Remaining > 1 {
		t.Fatalf("after recovery: %+v", d)
	}
	if fo.r.downUntil.Load() != 0 {
		t.Fatal("still in back-off after a successful probe")
	}
}
