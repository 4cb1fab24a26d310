package limits

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Window names a calendar period for a quota. The zero Window means the
// Spec is a rate limit.
type Window uint8

const (
	// NoWindow marks a rate limit (GCRA).
	NoWindow Window = iota
	// Day is a calendar day in the Spec's Location, midnight to midnight
	// (23 or 25 hours across a daylight-saving change).
	Day
	// Month is a calendar month in the Spec's Location.
	Month
)

func (w Window) String() string {
	switch w {
	case NoWindow:
		return "none"
	case Day:
		return "day"
	case Month:
		return "month"
	}
	return fmt.Sprintf("Window(%d)", uint8(w))
}

// Spec is one limit. It is either a rate limit (Window == NoWindow): Rate
// units per Period, refilled continuously, holding at most Burst; or a
// calendar quota (Window is Day or Month): Quota units per window, which
// empties exactly at the window boundary in Location.
type Spec struct {
	// Name labels the limit in Usage; it plays no part in decisions.
	Name string

	Rate   float64       // units per Period
	Period time.Duration // > 0
	Burst  float64       // capacity; 0 means Rate (one Period's worth)

	Window   Window
	Quota    float64        // units per window
	Location *time.Location // nil means UTC
}

// Validate reports what makes s unusable.
func (s Spec) Validate() error {
	_, err := s.params()
	return err
}

// params is a Spec checked and with its defaults applied, for one call.
type params struct {
	limit float64 // Burst or Quota
	// rate limits
	rate   float64 // units per period
	period float64 // nanoseconds
	tau    int64   // ns of debt a full burst makes: cost(Burst)
	// quotas
	fits   float64 // Quota plus a rounding allowance: admit while used+n <= fits
	window Window
	loc    *time.Location
}

// maxDebt bounds a bucket's debt: Lua numbers are doubles, exact to 2^53,
// and the script adds a second's nanoseconds to it.
const maxDebt = 1 << 52 // about 52 days

// quotaAllowance absorbs float rounding in sums of fractional units
// (0.1+0.2 > 0.3), far below any unit that matters.
const quotaAllowance = 1e-12

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (s Spec) params() (params, error) {
	switch s.Window {
	case NoWindow:
		if !finite(s.Rate) || s.Rate <= 0 {
			return params{}, fmt.Errorf("limits: %q: rate must be positive, got %v", s.Name, s.Rate)
		}
		if s.Period <= 0 {
			return params{}, fmt.Errorf("limits: %q: period must be positive, got %v", s.Name, s.Period)
		}
		burst := s.Burst
		if burst == 0 {
			burst = s.Rate
		}
		if !finite(burst) || burst < 0 {
			return params{}, fmt.Errorf("limits: %q: burst must be positive, got %v", s.Name, s.Burst)
		}
		p := params{limit: burst, rate: s.Rate, period: float64(s.Period)}
		if p.period/p.rate < minInterval {
			return params{}, fmt.Errorf("limits: %q: more than one unit per %v is too fine to count in nanoseconds", s.Name, time.Duration(minInterval))
		}
		if burst*p.period/p.rate > maxDebt {
			return params{}, fmt.Errorf("limits: %q: a full burst must refill within %v; use a quota", s.Name, time.Duration(maxDebt).Round(time.Hour))
		}
		p.tau = cost(&p, burst)
		return p, nil
	case Day, Month:
		if !finite(s.Quota) || s.Quota <= 0 {
			return params{}, fmt.Errorf("limits: %q: quota must be positive, got %v", s.Name, s.Quota)
		}
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		return params{limit: s.Quota, fits: s.Quota + s.Quota*quotaAllowance, window: s.Window, loc: loc}, nil
	}
	return params{}, fmt.Errorf("limits: %q: unknown window %v", s.Name, s.Window)
}

// minInterval is the shortest time per unit: each charge rounds toward zero
// to the nanosecond, so at a microsecond per unit it errs by 0.1% at most.
const minInterval = float64(time.Microsecond)

func checkUnits(n float64, negativeOK bool) error {
	if !finite(n) || (n < 0 && !negativeOK) {
		return fmt.Errorf("limits: invalid units %v", n)
	}
	return nil
}

// Reason says why a Decision came out as it did.
type Reason uint8

const (
	// Allowed: the units were charged.
	Allowed Reason = iota
	// Limited: the units do not fit now; RetryAfter says when they will.
	Limited
	// TooLarge: the units exceed the limit itself (Burst or Quota) and
	// will never fit; RetryAfter is 0. Nothing was charged.
	TooLarge
	// Unavailable: the shared backend failed and the store fails closed.
	Unavailable
)

func (r Reason) String() string {
	switch r {
	case Allowed:
		return "allowed"
	case Limited:
		return "limited"
	case TooLarge:
		return "too_large"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Decision is the answer to one Take: enough for a 429 with Retry-After and
// the x-ratelimit-limit, -remaining and -reset headers.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Limit is the Burst of a rate limit or the Quota of a window.
	Limit float64
	// Remaining is what could still be taken now (after this charge when
	// allowed), never negative. A rate limit counts debt in whole
	// nanoseconds, so it may exceed the exact fraction by a nanosecond's
	// worth of units per charge: floor it for a header.
	Remaining float64
	// Reset is the time until the bucket is full again (rate) or until the
	// window ends (quota).
	Reset time.Duration
	// RetryAfter is how long until the same request would fit; 0 when
	// allowed or when it never will (TooLarge).
	RetryAfter time.Duration
	// Window is the start of the quota window charged; pass it to Adjust.
	// Zero for rate limits.
	Window time.Time
}

// Usage is the state of one key, for the admin endpoint and metrics.
type Usage struct {
	Key       string
	Name      string // Spec.Name
	Limit     float64
	Used      float64
	Remaining float64
	Reset     time.Duration
	Window    time.Time // start of the current quota window; zero for rate limits
}

// Store decides and charges. Implementations are safe for concurrent use
// and exact under concurrency: units are admitted only if they all fit.
type Store interface {
	// Take charges n units to key if they all fit, and otherwise charges
	// nothing. The error is for invalid arguments or a cancelled ctx; a
	// refusal is a Decision.
	Take(ctx context.Context, key string, s Spec, n float64) (Decision, error)
	// Adjust corrects an earlier charge by delta units, the real usage
	// minus the estimate Take charged: positive adds debt (which may push
	// the key past its limit, so the next request waits), negative refunds
	// (never below empty). For a quota, window is the Decision.Window of
	// that Take; if that window has ended, a positive delta is charged to
	// the current window (so overage is still enforced) and a refund is
	// dropped (nothing of it was charged there). Zero means current.
	Adjust(ctx context.Context, key string, s Spec, window time.Time, delta float64) error
}

// Reader shows current usage without charging anything.
type Reader interface {
	// Usage reads the given keys of one Spec.
	Usage(ctx context.Context, s Spec, keys ...string) ([]Usage, error)
	// Snapshot reads the keys this store has seen recently that hold
	// something now (rate debt, quota usage), sorted by key.
	Snapshot(ctx context.Context) ([]Usage, error)
}

// ErrBackoff is passed to the failure callback for a call that skipped the
// shared backend because an earlier call failed moments ago.
var ErrBackoff = errors.New("limits: shared backend in back-off after a failure")
