package limits

import (
	"cmp"
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

const (
	memoryShards = 64 // a power of two; spreads lock contention across keys
	minSweep     = 256
)

// Memory is the in-process Store: exact for one replica, and the fail-open
// fallback of Redis.
//
// Keys live in sharded maps, each behind its own mutex. A key that holds
// nothing (a rate limit whose debt has drained, a quota whose window has
// ended or is at zero) is equivalent to an absent key, so dropping it loses
// nothing; a shard drops all such keys in one sweep when it has doubled
// since its last sweep (never below 256 keys). Memory thus stays within
// about twice the keys that hold state — those used within their drain
// time, or within the current window for quotas — plus 256 per shard, at
// about 150 bytes a key (BenchmarkMemoryBytesPerKey) plus the key string.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [memoryShards]shard
}

type shard struct {
	mu      sync.Mutex
	m       map[string]*entry
	sweepAt int
}

type entry struct {
	name  string
	p     params
	tat   int64   // rate: theoretical arrival time, Unix ns
	used  float64 // quota: units used in the window [start, end), Unix ns
	start int64
	end   int64
}

var (
	_ Store  = (*Memory)(nil)
	_ Reader = (*Memory)(nil)
)

// NewMemory returns an empty Memory reading time from now (time.Now when
// nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = make(map[string]*entry)
		m.shards[i].sweepAt = minSweep
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]
}

// Take implements Store.
func (m *Memory) Take(ctx context.Context, key string, s Spec, n float64) (Decision, error) {
	return m.apply(key, s, time.Time{}, n, false)
}

// Adjust implements Store.
func (m *Memory) Adjust(ctx context.Context, key string, s Spec, window time.Time, delta float64) error {
	_, err := m.apply(key, s, window, delta, true)
	return err
}

func (m *Memory) apply(key string, s Spec, window time.Time, n float64, adjust bool) (Decision, error) {
	p, err := s.params()
	if err != nil {
		return Decision{}, err
	}
	if err := checkUnits(n, adjust); err != nil {
		return Decision{}, err
	}
	now := m.now()
	ns := now.UnixNano()
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[key]
	if e == nil {
		if adjust && n <= 0 {
			return Decision{}, nil // a refund to an empty key changes nothing
		}
		e = sh.add(key, now)
	}
	if e.p.window != p.window {
		*e = entry{}
	}
	e.name = s.Name
	if p.window == NoWindow {
		e.p = p
		inc := takeCost(&p, n)
		if adjust {
			inc = cost(&p, n)
		}
		debt, ok := chargeDebt(&p, debtAt(e.tat, ns), inc, adjust)
		if ok {
			e.tat = ns + debt
		}
		return rateDecision(&p, debt, inc, n, ok), nil
	}
	start, end := e.roll(p, now)
	if adjust && skipAdjust(window, start, n) {
		return Decision{}, nil
	}
	used, ok := chargeUsed(&p, e.used, n, adjust)
	e.used = used
	return quotaDecision(&p, used, n, ok, now, start, end), nil
}

// roll moves a quota entry to the window holding now, emptying it when that
// window is a later one, and returns the window.
func (e *entry) roll(p params, now time.Time) (start, end time.Time) {
	ns := now.UnixNano()
	if e.p.loc != p.loc || ns < e.start || ns >= e.end {
		start, end := windowAt(&p, now)
		if start.UnixNano() >= e.end {
			e.used = 0
		}
		e.start, e.end = start.UnixNano(), end.UnixNano()
	}
	e.p = p
	return time.Unix(0, e.start).In(p.loc), time.Unix(0, e.end).In(p.loc)
}

// add inserts a fresh entry, first sweeping the shard if it has doubled.
// Called with sh.mu held.
func (sh *shard) add(key string, now time.Time) *entry {
	if len(sh.m) >= sh.sweepAt {
		ns := now.UnixNano()
		for k, e := range sh.m {
			if e.idle(ns) {
				delete(sh.m, k)
			}
		}
		sh.sweepAt = max(minSweep, 2*len(sh.m))
	}
	e := &entry{}
	sh.m[key] = e
	return e
}

// idle reports whether e holds nothing at now, so dropping it loses nothing.
func (e *entry) idle(now int64) bool {
	if e.p.window == NoWindow {
		return e.tat <= now
	}
	return e.used <= 0 || now >= e.end
}

// usage reads e at now without changing it; ok is false when it is idle.
func (e *entry) usage(key string, now time.Time) (Usage, bool) {
	ns := now.UnixNano()
	if e.idle(ns) {
		return Usage{}, false
	}
	if e.p.window == NoWindow {
		return rateUsage(&e.p, key, e.name, debtAt(e.tat, ns)), true
	}
	start, end := time.Unix(0, e.start).In(e.p.loc), time.Unix(0, e.end).In(e.p.loc)
	return quotaUsage(&e.p, key, e.name, e.used, now, start, end), true
}

// Usage implements Reader.
func (m *Memory) Usage(ctx context.Context, s Spec, keys ...string) ([]Usage, error) {
	p, err := s.params()
	if err != nil {
		return nil, err
	}
	now := m.now()
	out := make([]Usage, 0, len(keys))
	for _, key := range keys {
		sh := m.shard(key)
		sh.mu.Lock()
		e := sh.m[key]
		var u Usage
		var ok bool
		if e != nil && e.p.window == p.window {
			u, ok = e.usage(key, now)
		}
		sh.mu.Unlock()
		if !ok {
			u = emptyUsage(&p, key, s.Name, now)
		}
		out = append(out, u)
	}
	return out, nil
}

// Snapshot implements Reader: every key holding state now.
func (m *Memory) Snapshot(ctx context.Context) ([]Usage, error) {
	now := m.now()
	var out []Usage
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if u, ok := e.usage(k, now); ok {
				out = append(out, u)
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Usage) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// Len returns the number of keys held, idle ones not yet swept included.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
