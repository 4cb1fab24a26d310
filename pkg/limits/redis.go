package limits

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// FailMode is what Redis does when the shared backend fails or times out.
type FailMode uint8

const (
	// FailOpen decides with a per-replica Memory instead: limits still
	// hold per replica, not across them. The default.
	FailOpen FailMode = iota
	// FailClosed denies with Reason Unavailable.
	FailClosed
)

// Defaults for RedisConfig.
const (
	DefaultTimeout = 25 * time.Millisecond
	DefaultBackoff = time.Second
	DefaultRecent  = 4096
)

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// Client must be built with ContextTimeoutEnabled, so that Timeout
	// bounds every call (NewRedis checks). Its retries happen within the
	// timeout: they ride over a connection gone stale across a Redis
	// restart, and make a refused connection cost the full timeout once
	// per back-off. Each decision touches one key, so a cluster client
	// works too.
	Client redis.UniversalClient
	// Prefix starts every key this store writes, e.g. "agentguard:limits:".
	Prefix string
	// Timeout bounds each call to Redis (default 25 ms), well inside
	// Envoy's message timeout.
	Timeout time.Duration
	// Backoff is how long after a failure calls skip Redis (default 1 s);
	// then one call probes it again.
	Backoff time.Duration
	// FailMode applies while Redis fails; FailOpen by default.
	FailMode FailMode
	// Fallback decides when failing open (default NewMemory(Now)).
	Fallback Store
	// Now is the clock of decisions and back-off (default time.Now).
	Now func() time.Time
	// OnFailure is told of every call not served by Redis: the error
	// (wrapping context.DeadlineExceeded on a timeout), or ErrBackoff for a
	// call that skipped Redis during the back-off. It must be quick.
	OnFailure func(error)
	// Recent bounds the keys remembered for Snapshot (default 4096).
	Recent int
}

// Redis is the Store shared by all replicas: one Redis round trip per
// decision, an atomic Lua script on one key.
//
// Time comes from the replica's clock (RedisConfig.Now), passed into the
// script, not from Redis TIME: the quota's calendar window must be known
// before the call to name its key, decisions are testable with an injected
// clock, and mesh nodes keep their clocks synced. Skew never raises the
// rate: debt is measured against the caller's clock, so a replica whose
// clock is ahead by d sees d less debt and admits at most d·Rate/Period
// units more in all, while one behind is stricter; a quota window turns
// over d early on it.
//
// A call that timed out may still have been applied by Redis later (a
// timeout cannot tell); the fail mode decides the request all the same.
type Redis struct {
	c         redis.UniversalClient
	prefix    string
	timeout   time.Duration
	backoff   time.Duration
	mode      FailMode
	fallback  Store
	now       func() time.Time
	onFailure func(error)
	recent    *recent
	// The scripts go by EVALSHA; go-redis falls back to EVAL only on
	// NOSCRIPT (a restarted or flushed Redis), which loads them again.
	rateScript, quotaScript *redis.Script

	// downUntil is the Unix ns (by now) until which calls skip Redis; 0
	// while Redis answers.
	downUntil atomic.Int64
}

var (
	_ Store  = (*Redis)(nil)
	_ Reader = (*Redis)(nil)

	//go:embed rate.lua
	rateLua string
	//go:embed quota.lua
	quotaLua string
)

// NewRedis returns a Redis store over cfg.Client.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("limits: redis: no client")
	}
	if !contextTimeouts(cfg.Client) {
		return nil, errors.New("limits: redis: the client must set ContextTimeoutEnabled, or a call could outlast the timeout")
	}
	if cfg.Timeout < 0 || cfg.Backoff < 0 || cfg.Recent < 0 {
		return nil, errors.New("limits: redis: negative timeout, back-off or recent")
	}
	if cfg.FailMode > FailClosed {
		return nil, fmt.Errorf("limits: redis: unknown fail mode %d", cfg.FailMode)
	}
	r := &Redis{
		c:         cfg.Client,
		prefix:    cfg.Prefix,
		timeout:   orDefault(cfg.Timeout, DefaultTimeout),
		backoff:   orDefault(cfg.Backoff, DefaultBackoff),
		mode:      cfg.FailMode,
		fallback:  cfg.Fallback,
		now:       cfg.Now,
		onFailure: cfg.OnFailure,
		recent:    newRecent(orDefault(cfg.Recent, DefaultRecent)),

		rateScript:  redis.NewScript(rateLua),
		quotaScript: redis.NewScript(quotaLua),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.fallback == nil {
		r.fallback = NewMemory(r.now)
	}
	if r.onFailure == nil {
		r.onFailure = func(error) {}
	}
	return r, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func contextTimeouts(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true // another implementation: the caller answers for it
}

// Take implements Store.
func (r *Redis) Take(ctx context.Context, key string, s Spec, n float64) (Decision, error) {
	return r.apply(ctx, key, s, time.Time{}, n, false)
}

// Adjust implements Store. A failure is reported to OnFailure and, failing
// open, the delta goes to the fallback; it is not returned as an error,
// since the request it corrects has already been served.
func (r *Redis) Adjust(ctx context.Context, key string, s Spec, window time.Time, delta float64) error {
	_, err := r.apply(ctx, key, s, window, delta, true)
	return err
}

func (r *Redis) apply(ctx context.Context, key string, s Spec, window time.Time, n float64, adjust bool) (Decision, error) {
	p, err := s.params()
	if err != nil {
		return Decision{}, err
	}
	if err := checkUnits(n, adjust); err != nil {
		return Decision{}, err
	}
	if adjust && n == 0 {
		return Decision{}, nil
	}
	now := r.now()
	var start, end time.Time
	if p.window != NoWindow {
		start, end = windowAt(&p, now)
		if adjust && skipAdjust(window, start, n) {
			return Decision{}, nil
		}
	}
	if !r.up(now) {
		r.onFailure(ErrBackoff)
		return r.failed(ctx, key, s, &p, window, n, adjust)
	}
	var d Decision
	until := end
	if p.window == NoWindow {
		d, err = r.rate(ctx, key, &p, now, n, adjust)
		until = now.Add(d.Reset)
	} else {
		d, err = r.quota(ctx, key, &p, now, start, end, n, adjust)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, fmt.Errorf("limits: redis: %w", ctx.Err()) // the caller gave up; Redis is not to blame
		}
		r.down(now)
		r.onFailure(err)
		return r.failed(ctx, key, s, &p, window, n, adjust)
	}
	if r.downUntil.Load() != 0 { // a probe succeeded; a plain store would contend on every call
		r.downUntil.Store(0)
	}
	r.recent.note(key, s, until.UnixNano(), now.UnixNano())
	return d, nil
}

// up reports whether this call may use Redis. When the back-off is over,
// exactly one caller wins the right to probe; the others keep skipping
// until it has an answer.
func (r *Redis) up(now time.Time) bool {
	until := r.downUntil.Load()
	if until == 0 {
		return true
	}
	ns := now.UnixNano()
	return ns >= until && r.downUntil.CompareAndSwap(until, ns+int64(r.backoff))
}

func (r *Redis) down(now time.Time) { r.downUntil.Store(now.UnixNano() + int64(r.backoff)) }

// failed applies the fail mode to a call Redis did not serve.
func (r *Redis) failed(ctx context.Context, key string, s Spec, p *params, window time.Time, n float64, adjust bool) (Decision, error) {
	if r.mode == FailOpen {
		if adjust {
			return Decision{}, r.fallback.Adjust(ctx, key, s, window, n)
		}
		return r.fallback.Take(ctx, key, s, n)
	}
	if adjust {
		return Decision{}, nil
	}
	return Decision{Reason: Unavailable, Limit: p.limit, RetryAfter: r.backoff}, nil
}

func (r *Redis) rateKey(key string) string { return r.prefix + "r:" + key }

func (r *Redis) quotaKey(key string, start time.Time) string {
	return r.prefix + "q:" + key + ":" + strconv.FormatInt(start.Unix(), 10)
}

func (r *Redis) rate(ctx context.Context, key string, p *params, now time.Time, n float64, adjust bool) (Decision, error) {
	inc := takeCost(p, n)
	if adjust {
		inc = cost(p, n)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.rateScript.Run(ctx, r.c, []string{r.rateKey(key)},
		inc, p.tau, now.Unix(), now.Nanosecond(), flag(adjust), int64(maxDebt)).Slice()
	if err != nil {
		return Decision{}, r.callError(ctx, "rate script", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("limits: redis: rate script returned %d values, want 2", len(res))
	}
	ok, _ := res[0].(int64)
	debt, _ := res[1].(int64)
	return rateDecision(p, debt, inc, n, ok == 1), nil
}

// quotaSlack keeps a window's key a little past the window's end, for
// replicas whose clocks lag.
const quotaSlack = time.Minute

func (r *Redis) quota(ctx context.Context, key string, p *params, now, start, end time.Time, n float64, adjust bool) (Decision, error) {
	ttl := (end.Sub(now) + quotaSlack).Milliseconds()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.quotaScript.Run(ctx, r.c, []string{r.quotaKey(key, start)},
		n, p.fits, ttl, flag(adjust)).Slice()
	if err != nil {
		return Decision{}, r.callError(ctx, "quota script", err)
	}
	ok, used, err := quotaResult(res)
	if err != nil {
		return Decision{}, err
	}
	return quotaDecision(p, used, n, ok, now, start, end), nil
}

// callError wraps err, marking a call that ran out of its own timeout with
// context.DeadlineExceeded (go-redis reports a socket deadline instead).
func (r *Redis) callError(ctx context.Context, what string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("limits: redis: %s: %w after %v: %w", what, context.DeadlineExceeded, r.timeout, err)
	}
	return fmt.Errorf("limits: redis: %s: %w", what, err)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func quotaResult(res []any) (bool, float64, error) {
	if len(res) != 2 {
		return false, 0, fmt.Errorf("limits: redis: quota script returned %d values, want 2", len(res))
	}
	ok, _ := res[0].(int64)
	s, _ := res[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false, 0, fmt.Errorf("limits: redis: quota script returned %q: %w", s, err)
	}
	return ok == 1, v, nil
}
