package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/limits"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// newLimitStore builds where limits are counted, once per process: limit
// state outlives config reloads, and a reload that changes the backend
// takes effect on restart. release closes the Redis connections.
func newLimitStore(b config.LimitsBackend, log *slog.Logger, m *telemetry.Metrics) (store engine.LimitStore, release func(), err error) {
	if b.Backend != "redis" || b.Redis == nil {
		return limits.NewMemory(nil), func() {}, nil
	}
	rc := b.Redis
	// go-redis logs pool trouble (a refused dial, every retry) on its own;
	// agentguard's log says it once per back-off (OnFailure), at debug here.
	redis.SetLogger(redisLog{log})
	opts := &redis.Options{
		Addr: rc.Address,
		DB:   rc.DB,
		// The store's per-call timeout must bound every call, retries
		// included (NewRedis checks).
		ContextTimeoutEnabled: true,
	}
	if rc.Password != (config.Credential{}) {
		src := rc.Password.Source()
		// Read for every new connection, so a rotated secret is picked up.
		opts.CredentialsProvider = func() (string, string) {
			s, err := src.Credential()
			if err != nil {
				log.Error("redis password unavailable", "source", src.Describe(), "err", err)
				return "", ""
			}
			return "", s.Reveal()
		}
	}
	client := redis.NewClient(opts)
	mode, modeLabel := limits.FailOpen, "open"
	if rc.FailureMode == "closed" {
		mode, modeLabel = limits.FailClosed, "closed"
	}
	failures := m.LimitBackendFailures.WithLabelValues(modeLabel)
	r, err := limits.NewRedis(limits.RedisConfig{
		Client:   client,
		Prefix:   rc.KeyPrefix,
		Timeout:  time.Duration(rc.Timeout),
		Backoff:  time.Duration(rc.Backoff),
		FailMode: mode,
		OnFailure: func(err error) {
			failures.Inc()
			// One call in each back-off reaches Redis and can fail; the
			// others skip it: log the failures, not the skips.
			if !errors.Is(err, limits.ErrBackoff) {
				log.Warn("limit backend failed; applying its failure mode", "mode", modeLabel, "err", err)
			}
		},
	})
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	return r, func() { _ = client.Close() }, nil
}

// redisLog sends go-redis's own messages to the log at debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// sameLimitsBackend reports whether two configs count limits in the same
// place, the same way.
func sameLimitsBackend(a, b config.LimitsBackend) bool {
	if a.Backend != b.Backend || (a.Redis == nil) != (b.Redis == nil) {
		return false
	}
	return a.Redis == nil || *a.Redis == *b.Redis
}
