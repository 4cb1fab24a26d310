package limits

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchRate keeps every key in debt for the whole run (a second of debt
// per unit, a burst of a million), so many-keys measures held keys, not
// swept and re-created ones. A key past its burst takes the refusal path,
// which does the same work.
var benchRate = Spec{Name: "rps", Rate: 1, Period: time.Second, Burst: 1e6}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "profile:limit:agent-" + strconv.Itoa(i)
	}
	return keys
}

// tickClock advances 1 µs per reading without a lock: the limiter's own
// cost, apart from the system clock's (time.Now is slow on some VMs).
func tickClock() func() time.Time {
	var ns atomic.Int64
	return func() time.Time { return epoch.Add(time.Duration(ns.Add(1000))) }
}

func BenchmarkMemoryTake(b *testing.B) {
	ctx := context.Background()
	keys := benchKeys(100_000)
	quota := Spec{Name: "usd", Window: Day, Quota: 1e12}
	for _, bc := range []struct {
		name     string
		now      func() time.Time
		spec     Spec
		keys     int
		parallel bool
	}{
		{"single-key", nil, benchRate, 1, false},
		{"single-key/time.Now", time.Now, benchRate, 1, false},
		{"single-key/quota", nil, quota, 1, false},
		{"many-keys", nil, benchRate, len(keys), false},
		{"parallel/single-key", nil, benchRate, 1, true},
		{"parallel/many-keys", nil, benchRate, len(keys), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			now := bc.now
			if now == nil {
				now = tickClock()
			}
			m := NewMemory(now)
			ks := keys[:bc.keys]
			for _, k := range ks { // every key held before timing
				_, _ = m.Take(ctx, k, bc.spec, 1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !bc.parallel {
				for i := 0; i < b.N; i++ {
					_, _ = m.Take(ctx, ks[i%len(ks)], bc.spec, 1)
				}
				return
			}
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					_, _ = m.Take(ctx, ks[i%len(ks)], bc.spec, 1)
					i++
				}
			})
		})
	}
}

// BenchmarkMemoryBytesPerKey reports the heap one held key costs (its
// entry and map slot; the key string is the caller's).
func BenchmarkMemoryBytesPerKey(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	ctx := context.Background()
	var per float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemory(tickClock())
		for _, k := range keys {
			_, _ = m.Take(ctx, k, benchRate, 1)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(per, "B/key")
}

// BenchmarkRedisTake measures a decision against a local redis-server and
// reports the commands each sends (a go-redis hook counts them).
func BenchmarkRedisTake(b *testing.B) {
	srv := startRedis(b)
	ctx := context.Background()
	keys := benchKeys(10_000)
	quota := Spec{Name: "usd", Window: Day, Quota: 1e12}
	run := func(b *testing.B, s Spec, parallel bool) {
		hook := &countHook{}
		r, err := NewRedis(RedisConfig{Client: srv.client(b, hook), Timeout: time.Second, Now: tickClock(),
			OnFailure: func(err error) { b.Errorf("redis failure: %v", err) }})
		if err != nil {
			b.Fatal(err)
		}
		for i := range 64 { // warm-up: script cached, connections dialled
			_, _ = r.Take(ctx, keys[i], s, 1)
		}
		before := hook.n.Load()
		b.ReportAllocs()
		b.ResetTimer()
		if parallel {
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					_, _ = r.Take(ctx, keys[i%len(keys)], s, 1)
					i++
				}
			})
		} else {
			for i := 0; i < b.N; i++ {
				_, _ = r.Take(ctx, keys[i%len(keys)], s, 1)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(hook.n.Load()-before)/float64(b.N), "cmds/op")
	}
	b.Run("rate", func(b *testing.B) { run(b, benchRate, false) })
	b.Run("quota", func(b *testing.B) { run(b, quota, false) })
	b.Run("rate-parallel", func(b *testing.B) { run(b, benchRate, true) })
}
