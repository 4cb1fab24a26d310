package pricing

import (
	"math"
	"testing"
)

func TestLookup(t *testing.T) {
	tab := Default()
	cases := []struct{ model, want string }{
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"gpt-4oo", ""},
		{"gpt-5-pro", ""},
		{"o3-pro", ""},
		{"claude-opus-4-6", ""},
		{"gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
		{"gpt-4o-latest", "gpt-4o"},
		{"gpt", ""},
		{"", ""},
	}
	for _, c := range cases {
		_, name, ok := tab.Lookup(c.model)
		if name != c.want || ok != (c.want != "") {
			t.Errorf("%q → %q %v, want %q", c.model, name, ok, c.want)
		}
	}
}

func TestCost(t *testing.T) {
	p, _, _ := Default().Lookup("gpt-4o")
	// 1,000 uncached + 500 cached input, 200 output.
	got := p.Cost(Usage{Input: 1000, CachedInput: 500, Output: 200})
	want := (1000*2.50 + 500*1.25 + 200*10.00) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("cost %v, want %v", got, want)
	}
	c, _, _ := Default().Lookup("claude-sonnet-4-20250514")
	got = c.Cost(Usage{Input: 100, CachedInput: 1000, CacheWrite: 2000, Output: 50})
	want = (100*3.0 + 1000*0.30 + 2000*3.75 + 50*15.0) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("cost %v, want %v", got, want)
	}
	// Cache write defaults to the input price.
	if got := (Price{Input: 2}).Cost(Usage{CacheWrite: 1e6}); got != 2 {
		t.Errorf("cache write default %v", got)
	}
}

func TestMerge(t *testing.T) {
	tab := Default().Merge("2026-11-01", map[string]Price{"gpt-4o": {Input: 1, Output: 2}, "local-model": {Input: 0.5}})
	if p, _, _ := tab.Lookup("gpt-4o-2024-11-20"); p.Input != 1 {
		t.Errorf("override not applied: %+v", p)
	}
	if _, _, ok := tab.Lookup("local-model"); !ok {
		t.Error("added model missing")
	}
	if _, _, ok := tab.Lookup("gpt-5-mini"); !ok || tab.AsOf() != "2026-11-01" {
		t.Error("merge lost the defaults or the date")
	}
}
