package secrets

import (
	"fmt"
	"sort"
	"strings"
)

// table reads one TOML table strictly: every key must be known, and an
// error names the table ("rule \"aws-access-token\"") so a user can find
// it. Keys match case-insensitively because gitleaks reads its files with
// viper, which does the same ("secretgroup" works there).
type table struct {
	where string
	m     map[string]any
	used  map[string]bool
}

func newTable(where string, m map[string]any) *table {
	return &table{where: where, m: m, used: make(map[string]bool, len(m))}
}

func (t *table) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{t.where}, args...)...)
}

// get returns the value of key, or false when it is absent.
func (t *table) get(key string) (any, bool, error) {
	var found string
	for k := range t.m {
		if strings.EqualFold(k, key) {
			if found != "" {
				return nil, false, t.errorf("%q and %q are the same key", found, k)
			}
			found = k
		}
	}
	if found == "" {
		return nil, false, nil
	}
	t.used[found] = true
	return t.m[found], true, nil
}

func (t *table) str(key string) (string, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", t.errorf("%s: want a string, have %T", key, v)
	}
	return s, nil
}

func (t *table) strs(key string) ([]string, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, t.errorf("%s: want a list of strings, have %T", key, v)
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, t.errorf("%s[%d]: want a string, have %T", key, i, e)
		}
		out[i] = s
	}
	return out, nil
}

func (t *table) num(key string) (float64, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return 0, err
	}
	switch n := v.(type) {
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return 0, t.errorf("%s: want a number, have %T", key, v)
}

func (t *table) integer(key string) (int, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > 1<<16 {
		return 0, t.errorf("%s: want a small non-negative integer, have %v", key, v)
	}
	return int(n), nil
}

func (t *table) boolean(key string) (bool, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, t.errorf("%s: want true or false, have %T", key, v)
	}
	return b, nil
}

// tables reads an array of tables ([[x]]); a single table ([x]) is
// accepted as an array of one.
func (t *table) tables(key string) ([]map[string]any, error) {
	v, ok, err := t.get(key)
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}, nil
	case []map[string]any:
		return x, nil
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, t.errorf("%s[%d]: want a table, have %T", key, i, e)
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, t.errorf("%s: want a table, have %T", key, v)
}

// done reports the keys nobody asked for: a misspelt key must not silently
// turn a rule or an allowlist off.
func (t *table) done() error {
	var unknown []string
	for k := range t.m {
		if !t.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return t.errorf("unknown field %s", strings.Join(unknown, ", "))
}
