package limits

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// minReadTimeout bounds Usage and Snapshot. They serve the admin endpoint
// and metrics, not requests, so they may wait longer than a decision, and
// their failures neither start a back-off nor reach OnFailure.
const minReadTimeout = time.Second

// keyed is one key and the Spec it was used with.
type keyed struct {
	key  string
	spec Spec
	p    params
}

// Usage implements Reader: one pipelined round trip for all keys.
func (r *Redis) Usage(ctx context.Context, s Spec, keys ...string) ([]Usage, error) {
	p, err := s.params()
	if err != nil {
		return nil, err
	}
	items := make([]keyed, len(keys))
	for i, k := range keys {
		items[i] = keyed{key: k, spec: s, p: p}
	}
	out, err := r.read(ctx, r.now(), items)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Snapshot implements Reader, over the keys this replica decided on
// recently (at most RedisConfig.Recent), read from Redis in one round trip:
// what all replicas have charged to them.
func (r *Redis) Snapshot(ctx context.Context) ([]Usage, error) {
	now := r.now()
	out, err := r.read(ctx, now, r.recent.list(now.UnixNano()))
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(u Usage) bool { return u.Used <= 0 })
	slices.SortFunc(out, func(a, b Usage) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

func (r *Redis) read(ctx context.Context, now time.Time, items []keyed) ([]Usage, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, max(r.timeout, minReadTimeout))
	defer cancel()
	pipe := r.c.Pipeline()
	cmds := make([]redis.Cmder, len(items))
	for i := range items {
		it := &items[i]
		if it.p.window == NoWindow {
			cmds[i] = pipe.HMGet(ctx, r.rateKey(it.key), "s", "n")
		} else {
			start, _ := windowAt(&it.p, now)
			cmds[i] = pipe.Get(ctx, r.quotaKey(it.key, start))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("limits: redis: read: %w", err)
	}
	out := make([]Usage, len(items))
	for i := range items {
		u, err := readUsage(&items[i], cmds[i], now)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

func readUsage(it *keyed, c redis.Cmder, now time.Time) (Usage, error) {
	p := &it.p
	switch c := c.(type) {
	case *redis.SliceCmd:
		v := c.Val()
		if len(v) != 2 || v[0] == nil {
			return emptyUsage(p, it.key, it.spec.Name, now), nil
		}
		sec, _ := v[0].(string)
		nsec, _ := v[1].(string)
		s, err1 := strconv.ParseInt(sec, 10, 64)
		ns, err2 := strconv.ParseInt(nsec, 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return Usage{}, fmt.Errorf("limits: redis: bad bucket state: %w", err)
		}
		return rateUsage(p, it.key, it.spec.Name, debtAt(s*1e9+ns, now.UnixNano())), nil
	case *redis.StringCmd:
		start, end := windowAt(p, now)
		s, err := c.Result()
		if errors.Is(err, redis.Nil) {
			return quotaUsage(p, it.key, it.spec.Name, 0, now, start, end), nil
		}
		used, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("limits: redis: bad quota state: %w", err)
		}
		return quotaUsage(p, it.key, it.spec.Name, used, now, start, end), nil
	}
	return Usage{}, fmt.Errorf("limits: redis: unexpected reply %T", c)
}

// recent remembers, within a bound, which keys this replica decided on and
// until when they may hold state, so Snapshot knows what to read.
type recent struct {
	mu  sync.Mutex
	max int
	m   map[string]keyedUntil
}

type keyedUntil struct {
	spec  Spec
	until int64 // Unix ns after which the key holds nothing
}

func newRecent(n int) *recent { return &recent{max: n, m: make(map[string]keyedUntil)} }

// note records key; when full it first drops keys past their until, and if
// still full it leaves key out of Snapshot rather than grow.
func (rc *recent) note(key string, s Spec, until, now int64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, ok := rc.m[key]; !ok && len(rc.m) >= rc.max {
		for k, e := range rc.m {
			if e.until <= now {
				delete(rc.m, k)
			}
		}
		if len(rc.m) >= rc.max {
			return
		}
	}
	rc.m[key] = keyedUntil{spec: s, until: until}
}

func (rc *recent) list(now int64) []keyed {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]keyed, 0, len(rc.m))
	for k, e := range rc.m {
		if e.until <= now {
			continue
		}
		p, err := e.spec.params()
		if err != nil {
			continue
		}
		out = append(out, keyed{key: k, spec: e.spec, p: p})
	}
	return out
}
