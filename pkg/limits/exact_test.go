package limits

import (
	"context"
	"math"
	"testing"
	"time"
	_ "time/tzdata" // the quota tests name zones; do not depend on the host's
)

// step is one call in a scenario: advance the clock, then Take (or Adjust
// when adjust is non-zero) and compare the Decision exactly.
type step struct {
	adv    time.Duration
	take   float64
	adjust float64
	want   Decision
}

func allowed(limit, remaining float64, reset time.Duration) Decision {
	return Decision{Allowed: true, Limit: limit, Remaining: remaining, Reset: reset}
}

func limited(limit, remaining float64, reset, retry time.Duration) Decision {
	return Decision{Reason: Limited, Limit: limit, Remaining: remaining, Reset: reset, RetryAfter: retry}
}

func tooLarge(limit, remaining float64, reset time.Duration) Decision {
	return Decision{Reason: TooLarge, Limit: limit, Remaining: remaining, Reset: reset}
}

func inWindow(d Decision, start time.Time) Decision {
	d.Window = start
	return d
}

// sameDecision compares exactly, except Remaining: derived from a debt in
// whole nanoseconds, it may differ from the exact fraction by a nanosecond's
// worth of units per charge (and never below it: charges round toward zero).
func sameDecision(got, want Decision) bool {
	return got.Allowed == want.Allowed && got.Reason == want.Reason && got.Limit == want.Limit &&
		math.Abs(got.Remaining-want.Remaining) <= 1e-8 && got.Reset == want.Reset &&
		got.RetryAfter == want.RetryAfter && got.Window.Equal(want.Window)
}

func runSteps(t *testing.T, b backend, clk *clock, key string, s Spec, steps []step) {
	t.Helper()
	ctx := context.Background()
	for i, st := range steps {
		clk.Add(st.adv)
		if st.adjust != 0 {
			if err := b.store.Adjust(ctx, key, s, time.Time{}, st.adjust); err != nil {
				t.Fatalf("step %d: Adjust: %v", i, err)
			}
			continue
		}
		got, err := b.store.Take(ctx, key, s, st.take)
		if err != nil {
			t.Fatalf("step %d: Take: %v", i, err)
		}
		if !sameDecision(got, st.want) {
			t.Errorf("step %d at %v: Take(%v)\n got %+v\nwant %+v", i, clk.Now().Format(time.RFC3339Nano), st.take, got, st.want)
		}
	}
}

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestRateExact(t *testing.T) {
	const ns = time.Nanosecond
	cases := []struct {
		name  string
		spec  Spec
		steps []step
	}{{
		name: "60 per minute, burst 5",
		spec: Spec{Name: "rpm", Rate: 60, Period: time.Minute, Burst: 5},
		steps: []step{
			{take: 1, want: allowed(5, 4, 1*time.Second)},
			{take: 1, want: allowed(5, 3, 2*time.Second)},
			{take: 1, want: allowed(5, 2, 3*time.Second)},
			{take: 1, want: allowed(5, 1, 4*time.Second)},
			{take: 1, want: allowed(5, 0, 5*time.Second)},
			// the limit+1st is refused, and told to come back in exactly 1 s
			{take: 1, want: limited(5, 0, 5*time.Second, time.Second)},
			// 1 ns early is still too early
			{adv: time.Second - ns, take: 1, want: limited(5, 0.999999999, 4*time.Second+ns, ns)},
			{adv: ns, take: 1, want: allowed(5, 0, 5*time.Second)},
			{take: 2, want: limited(5, 0, 5*time.Second, 2*time.Second)},
			// more than the burst never fits and charges nothing
			{take: 6, want: tooLarge(5, 0, 5*time.Second)},
			{adv: 5 * time.Second, take: 5, want: allowed(5, 0, 5*time.Second)},
			{adv: time.Hour, take: 0, want: allowed(5, 5, 0)},
		},
	}, {
		name: "3 per second: a third of a second is not a whole nanosecond",
		spec: Spec{Name: "rps", Rate: 3, Period: time.Second, Burst: 3},
		steps: []step{
			{take: 1, want: allowed(3, 2, 333333333*ns)},
			{take: 1, want: allowed(3, 1, 666666666*ns)},
			{take: 1, want: allowed(3, 0, 999999999*ns)},
			{take: 1, want: limited(3, 0, 999999999*ns, 333333332*ns)},
			{adv: 333333331 * ns, take: 1, want: limited(3, 3-2.000000004, 666666668*ns, ns)},
			{adv: ns, take: 1, want: allowed(3, 0, time.Second)},
		},
	}, {
		name: "tokens: a stream that used more than its estimate",
		spec: Spec{Name: "tpm", Rate: 1000, Period: time.Minute, Burst: 1000}, // 60 ms per token
		steps: []step{
			{take: 100, want: allowed(1000, 900, 6*time.Second)},
			{adjust: 1400}, // the stream reported 1500
			{take: 1, want: limited(1000, 0, 90*time.Second, 30*time.Second+60*time.Millisecond)},
			{adv: 30*time.Second + 60*time.Millisecond - ns, take: 1, want: limited(1000, 1000-59940000001.0/6e7, 59940*time.Millisecond+ns, ns)},
			{adv: ns, take: 1, want: allowed(1000, 0, 60*time.Second)},
			{adjust: -5000}, // a refund never goes below empty
			{take: 1000, want: allowed(1000, 0, 60*time.Second)},
			{take: 1, want: limited(1000, 0, 60*time.Second, 60*time.Millisecond)},
		},
	}, {
		name: "a stream that used less than its estimate is refunded",
		spec: Spec{Name: "tpm", Rate: 600, Period: time.Minute}, // burst defaults to 600
		steps: []step{
			{take: 500, want: allowed(600, 100, 50*time.Second)},
			{take: 200, want: limited(600, 100, 50*time.Second, 10*time.Second)},
			{adjust: -300}, // used 200
			{take: 200, want: allowed(600, 200, 40*time.Second)},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, epoch, func(t *testing.T, b backend, clk *clock) {
				runSteps(t, b, clk, "agent-1", tc.spec, tc.steps)
			})
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuotaRollover(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	kolkata := mustZone(t, "Asia/Kolkata")
	const ns = time.Nanosecond
	day := 24 * time.Hour
	cases := []struct {
		name  string
		spec  Spec
		start time.Time
		steps []step
	}{{
		name:  "day in New York, into the 23-hour day of the spring change",
		spec:  Spec{Name: "usd/day", Window: Day, Quota: 10, Location: ny},
		start: time.Date(2025, 3, 8, 23, 59, 59, 999999999, ny),
		steps: []step{
			{take: 10, want: inWindow(allowed(10, 0, ns), time.Date(2025, 3, 8, 0, 0, 0, 0, ny))},
			{take: 0.5, want: inWindow(limited(10, 0, ns, ns), time.Date(2025, 3, 8, 0, 0, 0, 0, ny))},
			{take: 11, want: inWindow(tooLarge(10, 0, ns), time.Date(2025, 3, 8, 0, 0, 0, 0, ny))},
			{adv: ns, take: 4, want: inWindow(allowed(10, 6, 23*time.Hour), time.Date(2025, 3, 9, 0, 0, 0, 0, ny))},
		},
	}, {
		name:  "day in New York, the 25-hour day of the autumn change",
		spec:  Spec{Name: "usd/day", Window: Day, Quota: 1, Location: ny},
		start: time.Date(2025, 11, 2, 0, 0, 0, 0, ny),
		steps: []step{
			{take: 1, want: inWindow(allowed(1, 0, 25*time.Hour), time.Date(2025, 11, 2, 0, 0, 0, 0, ny))},
			{adv: 25*time.Hour - ns, take: 1, want: inWindow(limited(1, 0, ns, ns), time.Date(2025, 11, 2, 0, 0, 0, 0, ny))},
			{adv: ns, take: 1, want: inWindow(allowed(1, 0, day), time.Date(2025, 11, 3, 0, 0, 0, 0, ny))},
		},
	}, {
		name:  "month in Kolkata ends at 18:30 UTC",
		spec:  Spec{Name: "tokens/month", Window: Month, Quota: 100, Location: kolkata},
		start: time.Date(2025, 1, 31, 18, 29, 59, 0, time.UTC),
		steps: []step{
			{take: 60, want: inWindow(allowed(100, 40, time.Second), time.Date(2025, 1, 1, 0, 0, 0, 0, kolkata))},
			{take: 41, want: inWindow(limited(100, 40, time.Second, time.Second), time.Date(2025, 1, 1, 0, 0, 0, 0, kolkata))},
			{adv: time.Second, take: 41, want: inWindow(allowed(100, 59, 28*day), time.Date(2025, 2, 1, 0, 0, 0, 0, kolkata))},
		},
	}, {
		name:  "day in UTC by default, into a new month",
		spec:  Spec{Name: "req/day", Window: Day, Quota: 2},
		start: time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC),
		steps: []step{
			{take: 2, want: inWindow(allowed(2, 0, time.Second), time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))},
			{take: 1, want: inWindow(limited(2, 0, time.Second, time.Second), time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))},
			{adv: time.Second, take: 1, want: inWindow(allowed(2, 1, day), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))},
			{adjust: 5}, // over the quota: even nothing more fits today
			{take: 0, want: inWindow(limited(2, 0, day, day), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))},
			{take: 1, want: inWindow(limited(2, 0, day, day), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))},
		},
	}, {
		name:  "fractional dollars add up to the quota",
		spec:  Spec{Name: "usd/month", Window: Month, Quota: 0.3},
		start: epoch,
		steps: []step{
			{take: 0.1, want: inWindow(allowed(0.3, 0.2, 30*day-12*time.Hour), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))},
			{take: 0.2, want: inWindow(allowed(0.3, 0, 30*day-12*time.Hour), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))},
			{take: 0.01, want: inWindow(limited(0.3, 0, 30*day-12*time.Hour, 30*day-12*time.Hour), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, tc.start, func(t *testing.T, b backend, clk *clock) {
				runSteps(t, b, clk, "agent-1", tc.spec, tc.steps)
			})
		})
	}
}

// An Adjust names the window its Take charged: once that window has ended,
// more usage goes to the current one and a refund is dropped.
func TestQuotaAdjustAcrossWindows(t *testing.T) {
	s := Spec{Name: "usd/day", Window: Day, Quota: 100}
	eachBackend(t, time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC), func(t *testing.T, b backend, clk *clock) {
		ctx := context.Background()
		d, err := b.store.Take(ctx, "a", s, 10)
		if err != nil || !d.Allowed {
			t.Fatalf("Take: %+v %v", d, err)
		}
		used := func(want float64) {
			t.Helper()
			u, err := b.store.Usage(ctx, s, "a")
			if err != nil {
				t.Fatal(err)
			}
			if len(u) != 1 || u[0].Used != want {
				t.Fatalf("usage %+v, want used %v", u, want)
			}
		}
		used(10)
		if err := b.store.Adjust(ctx, "a", s, d.Window, -4); err != nil {
			t.Fatal(err)
		}
		used(6)
		clk.Add(2 * time.Second)
		used(0)
		for _, a := range []struct {
			window time.Time
			delta  float64
			want   float64
		}{
			{d.Window, 5, 5},                   // the charged window ended: overage goes to today
			{d.Window, -10, 5},                 // a refund for yesterday is dropped
			{d.Window.AddDate(0, 0, 1), -3, 2}, // today's own refund
			{time.Time{}, -10, 0},              // zero means today; floored at zero
		} {
			if err := b.store.Adjust(ctx, "a", s, a.window, a.delta); err != nil {
				t.Fatal(err)
			}
			used(a.want)
		}
	})
}
