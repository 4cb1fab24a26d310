package limits

import (
	"math"
	"time"
)

// The arithmetic both backends share. A rate limit is GCRA: its state is
// the theoretical arrival time (TAT) in Unix nanoseconds, and its debt at
// now is max(TAT-now, 0). Costs are converted to nanoseconds here, once,
// so the bucket itself is integer arithmetic, which rate.lua repeats
// exactly; quotas are float64 sums, which quota.lua repeats operation for
// operation. Either backend reaches the same decision.

// cost is the debt n units add, in ns: n·Period/Rate rounded toward zero,
// so that a charge and its refund cancel exactly, clamped to ±maxDebt.
func cost(p *params, n float64) int64 {
	ns := math.Trunc(n * p.period / p.rate)
	return int64(max(-maxDebt, min(maxDebt, ns)))
}

// takeCost is the debt a Take of n adds; a Take larger than the burst is
// given a cost that can never fit, so that no rounding admits it.
func takeCost(p *params, n float64) int64 {
	if n > p.limit {
		return p.tau + 1
	}
	return cost(p, n)
}

// debtAt is the debt at now of a bucket whose TAT is tat.
func debtAt(tat, now int64) int64 { return max(0, tat-now) }

// chargeDebt applies a Take of inc ns (adjust false: all or nothing) or an
// Adjust by inc (never below empty) to debt, and reports whether it did.
func chargeDebt(p *params, debt, inc int64, adjust bool) (int64, bool) {
	if adjust {
		return min(maxDebt, max(0, debt+inc)), true
	}
	if debt+inc <= p.tau {
		return debt + inc, true
	}
	return debt, false
}

// units converts debt back to units.
func units(p *params, debt int64) float64 { return float64(debt) * p.rate / p.period }

// rateDecision describes a Take of n (costing inc) on a bucket holding debt
// (after the charge when ok, unchanged when not).
func rateDecision(p *params, debt, inc int64, n float64, ok bool) Decision {
	d := Decision{Allowed: ok, Limit: p.limit, Remaining: max(0, p.limit-units(p, debt)), Reset: time.Duration(debt)}
	switch {
	case ok:
	case n > p.limit:
		d.Reason = TooLarge
	default:
		d.Reason = Limited
		d.RetryAfter = time.Duration(debt + inc - p.tau)
	}
	return d
}

// chargeUsed applies a Take of n (adjust false: all or nothing) or an
// Adjust by n (never below zero) to a quota's used units.
func chargeUsed(p *params, used, n float64, adjust bool) (float64, bool) {
	if adjust {
		used += n
		if used < 0 {
			used = 0
		}
		return used, true
	}
	if used+n <= p.fits {
		return used + n, true
	}
	return used, false
}

// windowAt returns the calendar window holding now.
func windowAt(p *params, now time.Time) (start, end time.Time) {
	y, m, d := now.In(p.loc).Date()
	if p.window == Month {
		return time.Date(y, m, 1, 0, 0, 0, 0, p.loc), time.Date(y, m+1, 1, 0, 0, 0, 0, p.loc)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, p.loc), time.Date(y, m, d+1, 0, 0, 0, 0, p.loc)
}

// quotaDecision describes a Take on a window holding used (after the charge
// when ok, unchanged when not).
func quotaDecision(p *params, used, n float64, ok bool, now, start, end time.Time) Decision {
	d := Decision{Allowed: ok, Limit: p.limit, Remaining: max(0, p.limit-used), Reset: end.Sub(now), Window: start}
	switch {
	case ok:
	case n > p.fits:
		d.Reason = TooLarge
	default:
		d.Reason = Limited
		d.RetryAfter = max(1, end.Sub(now))
	}
	return d
}

// skipAdjust reports whether an Adjust of a quota is dropped: a refund for
// a window that has ended. Everything else goes to the current window.
func skipAdjust(charged, current time.Time, delta float64) bool {
	return !charged.IsZero() && charged.Before(current) && delta < 0
}

// rateUsage describes a rate bucket holding debt now.
func rateUsage(p *params, key, name string, debt int64) Usage {
	used := units(p, debt)
	return Usage{Key: key, Name: name, Limit: p.limit, Used: used, Remaining: max(0, p.limit-used), Reset: time.Duration(debt)}
}

// quotaUsage describes a window [start, end) that has used units now.
func quotaUsage(p *params, key, name string, used float64, now, start, end time.Time) Usage {
	return Usage{Key: key, Name: name, Limit: p.limit, Used: used, Remaining: max(0, p.limit-used), Reset: end.Sub(now), Window: start}
}

// emptyUsage describes a key that holds nothing.
func emptyUsage(p *params, key, name string, now time.Time) Usage {
	if p.window == NoWindow {
		return rateUsage(p, key, name, 0)
	}
	start, end := windowAt(p, now)
	return quotaUsage(p, key, name, 0, now, start, end)
}
