// Package pricing turns token usage into dollars: a price table per model,
// looked up exactly or by the longest dated-variant prefix, and the cost of
// one request.
package pricing

import (
	"sort"
	"strings"
)

// Price is USD per million tokens.
type Price struct {
	Input       float64 `yaml:"input" json:"input"`
	Output      float64 `yaml:"output" json:"output"`
	CachedInput float64 `yaml:"cached_input" json:"cached_input"`
	// CacheWrite is Anthropic's price for writing the prompt cache; 0 means
	// the Input price.
	CacheWrite float64 `yaml:"cache_write" json:"cache_write"`
}

// Usage is one request's tokens, split the way they are billed. Providers
// count differently (OpenAI's prompt_tokens include cached tokens,
// Anthropic's input_tokens exclude them); callers normalise into this.
type Usage struct {
	Input       int64 // input tokens billed at the full rate
	CachedInput int64 // input tokens read from the prompt cache
	CacheWrite  int64 // input tokens written to the prompt cache
	Output      int64 // output tokens, reasoning included
}

// Cost is the request's price in USD.
func (p Price) Cost(u Usage) float64 {
	write := p.CacheWrite
	if write == 0 {
		write = p.Input
	}
	return (float64(u.Input)*p.Input + float64(u.CachedInput)*p.CachedInput +
		float64(u.CacheWrite)*write + float64(u.Output)*p.Output) / 1e6
}

// Table maps model names to prices. It is immutable once built.
type Table struct {
	asOf   string
	models map[string]Price
	byLen  []string // names, longest first, for prefix lookups
}

// New builds a table; asOf dates the prices.
func New(asOf string, models map[string]Price) *Table {
	t := &Table{asOf: asOf, models: make(map[string]Price, len(models))}
	for k, v := range models {
		t.models[k] = v
		t.byLen = append(t.byLen, k)
	}
	sort.Slice(t.byLen, func(i, j int) bool {
		if len(t.byLen[i]) != len(t.byLen[j]) {
			return len(t.byLen[i]) > len(t.byLen[j])
		}
		return t.byLen[i] < t.byLen[j]
	})
	return t
}

// AsOf is the date the prices were taken.
func (t *Table) AsOf() string { return t.asOf }

// Merge returns a table with over's prices replacing or adding to t's.
func (t *Table) Merge(asOf string, over map[string]Price) *Table {
	m := make(map[string]Price, len(t.models)+len(over))
	for k, v := range t.models {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return New(asOf, m)
}

// Lookup finds a model's price: the exact name, else the longest listed
// name of which the model is a dated snapshot, so "gpt-4o-2024-08-06" is
// priced as "gpt-4o" while "gpt-4o-mini" keeps its own price and
// "gpt-5-pro" is not priced as "gpt-5".
func (t *Table) Lookup(model string) (Price, string, bool) {
	if p, ok := t.models[model]; ok {
		return p, model, true
	}
	for _, name := range t.byLen {
		if strings.HasPrefix(model, name) && len(model) > len(name) && model[len(name)] == '-' && versionSuffix(model[len(name):]) {
			return t.models[name], name, true
		}
	}
	return Price{}, "", false
}

// versionSuffix reports whether s ("-2024-08-06", "-20250514", "-latest")
// only dates a snapshot of the family: "-pro" or "-6" name another model,
// which must not be priced as the family.
func versionSuffix(s string) bool {
	if s == "-latest" {
		return true
	}
	digits := strings.ReplaceAll(s[1:], "-", "")
	if len(digits) != 8 || (len(s)-1 != 8 && len(s)-1 != 10) {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
