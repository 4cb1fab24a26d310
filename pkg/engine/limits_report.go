package engine

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/limits"
)

// What limits tell the client (a 429 in its protocol, with headers) and
// the operator (the admin endpoint).

// limitDenial is the denial of a refused Take: 429 with Retry-After and
// the x-ratelimit headers, or 503 when the shared store failed closed.
func limitDenial(l *profileLimit, d limits.Decision) denial {
	lr := &limitRefusal{unit: l.unit, headers: []HeaderValue{
		{Name: "x-ratelimit-limit", Value: formatUnits(l.unit, d.Limit, false)},
		{Name: "x-ratelimit-remaining", Value: formatUnits(l.unit, d.Remaining, true)},
		{Name: "x-ratelimit-reset", Value: strconv.FormatInt(ceilSeconds(d.Reset), 10)},
	}}
	if d.RetryAfter > 0 {
		lr.retryAfter = strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10)
		lr.headers = append(lr.headers, HeaderValue{Name: "retry-after", Value: lr.retryAfter})
	}
	desc := describeLimit(l)
	switch d.Reason {
	case limits.Unavailable:
		return denial{status: 503, kind: denyUnavailable, rule: l.rule, limit: lr,
			message: "limit " + l.id + " cannot be checked now: the shared limit store is unavailable"}
	case limits.TooLarge:
		return denial{status: 429, kind: denyRateLimited, rule: l.rule, limit: lr,
			message: "this request alone exceeds limit " + desc + "; it can never be admitted"}
	}
	return denial{status: 429, kind: denyRateLimited, rule: l.rule, limit: lr,
		message: "limit " + desc + " reached; retry after " + lr.retryAfter + "s"}
}

// limitRefusal is what a limit denial adds to the reply.
type limitRefusal struct {
	unit       string
	retryAfter string // seconds; "" when retrying cannot help
	headers    []HeaderValue
}

// describeLimit names a limit and its size, never a key's value.
func describeLimit(l *profileLimit) string {
	s := l.spec
	if s.Window == limits.NoWindow {
		burst := ""
		if s.Burst != 0 && s.Burst != s.Rate {
			burst = ", burst " + formatUnits(l.unit, s.Burst, false)
		}
		return fmt.Sprintf("%s (%s %s per %s%s)", l.id, formatUnits(l.unit, s.Rate, false), l.unit, shortDuration(s.Period), burst)
	}
	return fmt.Sprintf("%s (%s %s per %s)", l.id, formatUnits(l.unit, s.Quota, false), l.unit, s.Window)
}

// formatUnits writes v for a header: whole units, or cents for cost;
// floor rounds down (what remains is never overstated).
func formatUnits(unit string, v float64, floor bool) string {
	if unit == config.UnitCostUSD {
		if floor {
			v = math.Floor(v*100+1e-9) / 100
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if floor {
		v = math.Floor(v + 1e-9)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// shortDuration writes 1m rather than 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// LimitUsage is the state of one bucket, for the admin endpoint. Key is
// the bucket's value as stored: the agent, a value the config bounds (a
// server, a model), or "sha256:…" of one a client controls (a header).
type LimitUsage struct {
	Profile string `json:"profile"`
	Limit   string `json:"limit"`
	Key     string `json:"key"`
	Unit    string `json:"unit,omitempty"` // "" when the current config no longer has the limit
	// Size is the burst of a rate limit or the quota of a budget.
	Size         float64 `json:"size"`
	Used         float64 `json:"used"`
	Remaining    float64 `json:"remaining"`
	ResetSeconds float64 `json:"reset_seconds"`
	// WindowStart is the start of a budget's current window (RFC 3339).
	WindowStart string `json:"window_start,omitempty"`
}

// Limits reads every bucket that holds something now: with Redis, those
// this replica decided on recently, as all replicas have left them.
func (e *Engine) Limits(ctx context.Context) ([]LimitUsage, error) {
	us, err := e.limits.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	rt := e.rt.Load()
	out := make([]LimitUsage, 0, len(us))
	for _, u := range us {
		profile, rest, _ := strings.Cut(u.Key, "/")
		id, key, _ := strings.Cut(rest, "/")
		lu := LimitUsage{Profile: profile, Limit: id, Key: key, Size: u.Limit, Used: u.Used,
			Remaining: u.Remaining, ResetSeconds: u.Reset.Seconds()}
		if !u.Window.IsZero() {
			lu.WindowStart = u.Window.Format(time.RFC3339)
		}
		if p := rt.byName[profile]; p != nil {
			for _, l := range p.limits {
				if l.id == id {
					lu.Unit = l.unit
				}
			}
		}
		out = append(out, lu)
	}
	return out, nil
}
