package limits

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		err  string // "" for valid
	}{
		{"rate", Spec{Rate: 10, Period: time.Second, Burst: 20}, ""},
		{"burst defaults to rate", Spec{Rate: 10, Period: time.Second}, ""},
		{"day quota, UTC", Spec{Window: Day, Quota: 5}, ""},
		{"month quota", Spec{Window: Month, Quota: 5, Location: time.Local}, ""},
		{"zero rate", Spec{Period: time.Second}, "rate must be positive"},
		{"NaN rate", Spec{Rate: math.NaN(), Period: time.Second}, "rate must be positive"},
		{"no period", Spec{Rate: 1}, "period must be positive"},
		{"negative burst", Spec{Rate: 1, Period: time.Second, Burst: -1}, "burst must be positive"},
		{"infinite burst", Spec{Rate: 1, Period: time.Second, Burst: math.Inf(1)}, "burst must be positive"},
		{"too fine", Spec{Rate: 2e6, Period: time.Second}, "too fine"},
		{"too slow to refill", Spec{Rate: 1, Period: 24 * time.Hour, Burst: 60}, "use a quota"},
		{"zero quota", Spec{Window: Day}, "quota must be positive"},
		{"unknown window", Spec{Window: 9, Quota: 1}, "unknown window"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestInvalidUnits(t *testing.T) {
	m := NewMemory(nil)
	s := Spec{Rate: 1, Period: time.Second}
	for _, n := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := m.Take(context.Background(), "k", s, n); err == nil {
			t.Errorf("Take(%v) accepted", n)
		}
	}
	if err := m.Adjust(context.Background(), "k", s, time.Time{}, math.NaN()); err == nil {
		t.Error("Adjust(NaN) accepted")
	}
}

// Keys that hold nothing are swept once a shard has doubled, so many
// short-lived keys do not grow memory without bound.
func TestMemoryEvictsIdleKeys(t *testing.T) {
	clk := newClock(epoch)
	m := NewMemory(clk.Now)
	s := Spec{Rate: 10, Period: time.Second, Burst: 10}
	ctx := context.Background()
	const wave = 20_000
	peak := 0
	for round := range 10 {
		for i := range wave {
			if _, err := m.Take(ctx, fmt.Sprintf("r%d-k%d", round, i), s, 1); err != nil {
				t.Fatal(err)
			}
		}
		peak = max(peak, m.Len())
		clk.Add(time.Second) // every key of this round drains
	}
	// At most the live wave twice over, plus the sweep floor per shard.
	if bound := 2*wave + memoryShards*minSweep; peak > bound {
		t.Fatalf("held %d keys for waves of %d, want at most %d", peak, wave, bound)
	}
	snap, _ := m.Snapshot(ctx)
	if len(snap) != 0 {
		t.Fatalf("snapshot of drained keys: %d entries", len(snap))
	}
}

func TestMemorySnapshot(t *testing.T) {
	clk := newClock(epoch)
	m := NewMemory(clk.Now)
	ctx := context.Background()
	rate := Spec{Name: "rpm", Rate: 60, Period: time.Minute, Burst: 10}
	quota := Spec{Name: "usd", Window: Day, Quota: 5}
	mustTake(t, m, "b", rate, 4)
	mustTake(t, m, "a", quota, 2)
	mustTake(t, m, "c", rate, 1)
	clk.Add(time.Second)
	got, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Usage{
		{Key: "a", Name: "usd", Limit: 5, Used: 2, Remaining: 3, Reset: 12*time.Hour - time.Second, Window: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)},
		{Key: "b", Name: "rpm", Limit: 10, Used: 3, Remaining: 7, Reset: 3 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("snapshot %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Name != want[i].Name || got[i].Used != want[i].Used ||
			got[i].Remaining != want[i].Remaining || got[i].Reset != want[i].Reset || !got[i].Window.Equal(want[i].Window) {
			t.Errorf("snapshot[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	u, err := m.Usage(ctx, rate, "b", "absent")
	if err != nil {
		t.Fatal(err)
	}
	if u[0].Used != 3 || u[1].Used != 0 || u[1].Remaining != 10 {
		t.Fatalf("usage %+v", u)
	}
}

func mustTake(t *testing.T, s Store, key string, spec Spec, n float64) Decision {
	t.Helper()
	d, err := s.Take(context.Background(), key, spec, n)
	if err != nil || !d.Allowed {
		t.Fatalf("Take(%s, %v): %+v %v", key, n, d, err)
	}
	return d
}

// The Redis store reads what all replicas charged, for the keys it used.
func TestRedisSnapshot(t *testing.T) {
	srv := startRedis(t)
	clk := newClock(epoch)
	a := newTestRedis(t, srv.client(t), clk)
	b := newTestRedis(t, srv.client(t), clk)
	rate := Spec{Name: "rpm", Rate: 60, Period: time.Minute, Burst: 10}
	quota := Spec{Name: "usd", Window: Day, Quota: 5}
	mustTake(t, a, "x", rate, 2)
	mustTake(t, b, "x", rate, 3)
	mustTake(t, a, "y", quota, 1.5)
	mustTake(t, b, "y", quota, 1)
	got, err := a.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "x" || got[0].Used != 5 || got[0].Reset != 5*time.Second ||
		got[1].Key != "y" || got[1].Used != 2.5 || got[1].Remaining != 2.5 {
		t.Fatalf("snapshot %+v", got)
	}
}

// FuzzRetryAfterExact drives one key with takes and clock steps from the
// input. Whatever the sequence, admitted units never exceed the burst plus
// what the elapsed time refills (each charge rounds toward zero, so give a
// nanosecond per charge), and a refused take is refused 1 ns before its
// Retry-After and admitted exactly at it.
func FuzzRetryAfterExact(f *testing.F) {
	f.Add([]byte{0, 2, 4, 6, 6, 6, 6, 1, 6, 255, 6})
	f.Add([]byte{6, 6, 6, 6, 6, 6, 6, 6, 6, 6})
	f.Add([]byte{3, 5, 7, 9, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	s := Spec{Name: "odd", Rate: 7, Period: 3 * time.Second, Burst: 4.5}
	f.Fuzz(func(t *testing.T, ops []byte) {
		clk := newClock(epoch)
		m := NewMemory(clk.Now)
		ctx := context.Background()
		admitted, charges := 0.0, 0
		check := func() {
			elapsed := clk.Now().Sub(epoch) + time.Duration(charges)
			if bound := s.Burst + elapsed.Seconds()*s.Rate/s.Period.Seconds(); admitted > bound+1e-9 {
				t.Fatalf("admitted %v units by %v, bound %v", admitted, elapsed, bound)
			}
		}
		take := func(n float64) Decision {
			d, err := m.Take(ctx, "k", s, n)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admitted += n
				charges++
			}
			check()
			return d
		}
		for _, op := range ops {
			if op&1 == 1 {
				clk.Add(time.Duration(op>>1) * 10 * time.Millisecond)
				continue
			}
			n := float64(op>>1%8) * 0.75
			d := take(n)
			if d.Allowed || d.Reason == TooLarge {
				continue
			}
			clk.Add(d.RetryAfter - time.Nanosecond)
			if d2 := take(n); d2.Allowed || d2.RetryAfter != time.Nanosecond {
				t.Fatalf("1 ns before Retry-After %v: %+v", d.RetryAfter, d2)
			}
			clk.Add(time.Nanosecond)
			if d3 := take(n); !d3.Allowed {
				t.Fatalf("at Retry-After %v: %+v", d.RetryAfter, d3)
			}
		}
	})
}
