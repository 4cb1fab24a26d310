package pricing

// DefaultAsOf dates the shipped prices: the providers' public list prices
// for standard (not batch, not priority) processing as published in 2025.
// Prices change; operators override them with `pricing.models` (and date
// them with `pricing.as_of`) in the config.
const DefaultAsOf = "2025-11-01"

// Default is the shipped table, USD per million tokens.
func Default() *Table {
	return New(DefaultAsOf, map[string]Price{
		// OpenAI
		"gpt-4o":                 {Input: 2.50, Output: 10.00, CachedInput: 1.25},
		"gpt-4o-2024-05-13":      {Input: 5.00, Output: 15.00},
		"gpt-4o-mini":            {Input: 0.15, Output: 0.60, CachedInput: 0.075},
		"gpt-4.1":                {Input: 2.00, Output: 8.00, CachedInput: 0.50},
		"gpt-4.1-mini":           {Input: 0.40, Output: 1.60, CachedInput: 0.10},
		"gpt-4.1-nano":           {Input: 0.10, Output: 0.40, CachedInput: 0.025},
		"gpt-5":                  {Input: 1.25, Output: 10.00, CachedInput: 0.125},
		"gpt-5-mini":             {Input: 0.25, Output: 2.00, CachedInput: 0.025},
		"gpt-5-nano":             {Input: 0.05, Output: 0.40, CachedInput: 0.005},
		"o3":                     {Input: 2.00, Output: 8.00, CachedInput: 0.50},
		"o4-mini":                {Input: 1.10, Output: 4.40, CachedInput: 0.275},
		"text-embedding-3-small": {Input: 0.02},
		"text-embedding-3-large": {Input: 0.13},
		// Anthropic (cache writes at the 5-minute rate, 1.25× input)
		"claude-opus-4-1":   {Input: 15.00, Output: 75.00, CachedInput: 1.50, CacheWrite: 18.75},
		"claude-opus-4":     {Input: 15.00, Output: 75.00, CachedInput: 1.50, CacheWrite: 18.75},
		"claude-opus-4-5":   {Input: 5.00, Output: 25.00, CachedInput: 0.50, CacheWrite: 6.25},
		"claude-sonnet-4-5": {Input: 3.00, Output: 15.00, CachedInput: 0.30, CacheWrite: 3.75},
		"claude-sonnet-4":   {Input: 3.00, Output: 15.00, CachedInput: 0.30, CacheWrite: 3.75},
		"claude-3-7-sonnet": {Input: 3.00, Output: 15.00, CachedInput: 0.30, CacheWrite: 3.75},
		"claude-3-5-sonnet": {Input: 3.00, Output: 15.00, CachedInput: 0.30, CacheWrite: 3.75},
		"claude-haiku-4-5":  {Input: 1.00, Output: 5.00, CachedInput: 0.10, CacheWrite: 1.25},
		"claude-3-5-haiku":  {Input: 0.80, Output: 4.00, CachedInput: 0.08, CacheWrite: 1.00},
	})
}
