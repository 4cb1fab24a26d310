package limits

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Memory and Redis make the same decisions, bit for bit, over a random
// run of takes, adjusts and clock steps on a few keys and specs.
func TestBackendsAgree(t *testing.T) {
	srv := startRedis(t)
	clk := newClock(epoch)
	mem := NewMemory(clk.Now)
	red := newTestRedis(t, srv.client(t), clk)
	specs := []Spec{
		{Name: "rpm", Rate: 60, Period: time.Minute, Burst: 5},
		{Name: "odd", Rate: 7, Period: 3 * time.Second, Burst: 4.5},
		{Name: "tpm", Rate: 90_000, Period: time.Minute, Burst: 120_000},
		{Name: "usd", Window: Day, Quota: 2.5},
	}
	keys := []string{"a", "b", "c"}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	windows := map[string]time.Time{}
	for i := range 3000 {
		s := specs[rng.IntN(len(specs))]
		key := s.Name + ":" + keys[rng.IntN(len(keys))]
		switch op := rng.IntN(10); {
		case op < 2:
			clk.Add(time.Duration(rng.Int64N(int64(10 * time.Second))))
		case op < 4:
			delta := rng.Float64()*40 - 20
			if s.Name == "tpm" {
				delta *= 1000
			}
			w := windows[key]
			e1 := mem.Adjust(ctx, key, s, w, delta)
			e2 := red.Adjust(ctx, key, s, w, delta)
			if e1 != nil || e2 != nil {
				t.Fatalf("op %d: Adjust: %v, %v", i, e1, e2)
			}
		default:
			n := float64(rng.IntN(4))
			if s.Name == "tpm" {
				n = float64(rng.IntN(50_000))
			} else if s.Name == "usd" {
				n = rng.Float64() / 2
			}
			d1, e1 := mem.Take(ctx, key, s, n)
			d2, e2 := red.Take(ctx, key, s, n)
			if e1 != nil || e2 != nil {
				t.Fatalf("op %d: Take: %v, %v", i, e1, e2)
			}
			if d1 != d2 && !(d1.Window.Equal(d2.Window) && withoutWindow(d1) == withoutWindow(d2)) {
				t.Fatalf("op %d: %s Take(%v) at %v:\nmemory %+v\nredis  %+v", i, key, n, clk.Now(), d1, d2)
			}
			windows[key] = d1.Window
		}
	}
}

func withoutWindow(d Decision) Decision {
	d.Window = time.Time{}
	return d
}

// Many goroutines on one key admit exactly the burst.
func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory(nil)
	s := Spec{Name: "rph", Rate: 1, Period: time.Hour, Burst: 1000}
	admitted := hammer(t, 32, 100, func() (Decision, error) { return m.Take(context.Background(), "k", s, 1) })
	if admitted != 1000 {
		t.Fatalf("admitted %d, want exactly 1000", admitted)
	}
}

// Two replicas, each with its own client, sharing one Redis admit no more
// and no fewer than the burst between them.
func TestRedisConcurrentReplicas(t *testing.T) {
	srv := startRedis(t)
	s := Spec{Name: "rph", Rate: 1, Period: time.Hour, Burst: 300}
	var replicas []*Redis
	for range 2 {
		r, err := NewRedis(RedisConfig{Client: srv.client(t), Prefix: "shared:", Timeout: 5 * time.Second,
			OnFailure: func(err error) { t.Errorf("redis failure: %v", err) }})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}
	var i atomic.Int64
	admitted := hammer(t, 32, 40, func() (Decision, error) {
		r := replicas[i.Add(1)%2]
		return r.Take(context.Background(), "k", s, 1)
	})
	if admitted != 300 {
		t.Fatalf("admitted %d across two replicas, want exactly 300", admitted)
	}
}

// hammer runs take from g goroutines, each calling it n times, and counts
// the admissions.
func hammer(t *testing.T, g, n int, take func() (Decision, error)) int {
	t.Helper()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range n {
				d, err := take()
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(admitted.Load())
}

// Every key is written with a TTL: a rate key lives until its debt has
// drained (plus a second), a quota key until its window ends (plus a
// minute).
func TestRedisKeyTTL(t *testing.T) {
	srv := startRedis(t)
	c := srv.client(t)
	clk := newClock(time.Date(2025, 6, 30, 18, 0, 0, 0, time.UTC))
	r := newTestRedis(t, c, clk)
	ctx := context.Background()
	if _, err := r.Take(ctx, "k", Spec{Rate: 60, Period: time.Minute, Burst: 10}, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Take(ctx, "k", Spec{Window: Day, Quota: 10}, 7); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key      string
		min, max time.Duration
	}{
		{"test:r:k", 7 * time.Second, 8 * time.Second},
		{"test:q:k:1751241600", 6*time.Hour + 50*time.Second, 6*time.Hour + time.Minute},
	} {
		ttl, err := c.PTTL(ctx, tc.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < tc.min || ttl > tc.max {
			t.Errorf("%s: ttl %v, want within [%v, %v]", tc.key, ttl, tc.min, tc.max)
		}
	}
	// A refund to empty deletes the key: absent means owing nothing.
	if err := r.Adjust(ctx, "k", Spec{Rate: 60, Period: time.Minute, Burst: 10}, time.Time{}, -7); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, "test:r:k").Result(); err != nil || n != 0 {
		t.Errorf("drained key still there: %d %v", n, err)
	}
}

// Each decision is one command, EVALSHA, once the script is cached (a
// restarted Redis costs one NOSCRIPT miss, EVALSHA then EVAL, and no
// failure: TestRedisKilledFailOpen recovers through it).
func TestRedisOneRoundTrip(t *testing.T) {
	srv := startRedis(t)
	hook := &countHook{}
	clk := newClock(epoch)
	r := newTestRedis(t, srv.client(t, hook), clk)
	ctx := context.Background()
	specs := []Spec{{Rate: 100, Period: time.Second}, {Window: Month, Quota: 1e9}}
	for _, s := range specs {
		if _, err := r.Take(ctx, "warm", s, 1); err != nil { // loads the script
			t.Fatal(err)
		}
	}
	before := hook.n.Load()
	const calls = 200
	for i := range calls {
		s := specs[i%2]
		if _, err := r.Take(ctx, "k", s, 1); err != nil {
			t.Fatal(err)
		}
		if err := r.Adjust(ctx, "k", s, time.Time{}, 0.5); err != nil {
			t.Fatal(err)
		}
	}
	if got := hook.n.Load() - before; got != 2*calls {
		t.Fatalf("%d commands for %d decisions, want 1 each", got, 2*calls)
	}
	// Pipelines have their own connections: the first Usage dials one
	// (HELLO and friends), so count the second.
	if _, err := r.Usage(ctx, specs[0], "k"); err != nil {
		t.Fatal(err)
	}
	before = hook.n.Load()
	if _, err := r.Usage(ctx, specs[0], "k", "warm", "absent"); err != nil {
		t.Fatal(err)
	}
	if got := hook.n.Load() - before; got != 3 {
		t.Fatalf("Usage of 3 keys sent %d commands, want 3 in one pipeline", got)
	}
}

// A Take whose caller has gone is the caller's error, not a Redis failure:
// nothing is counted and no back-off starts.
func TestRedisCallerCancelled(t *testing.T) {
	srv := startRedis(t)
	var f failures
	r, err := NewRedis(RedisConfig{Client: srv.client(t), OnFailure: f.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Take(ctx, "k", Spec{Rate: 1, Period: time.Second}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(f.list()) != 0 || r.downUntil.Load() != 0 {
		t.Fatalf("failures %v, downUntil %d", f.list(), r.downUntil.Load())
	}
}
