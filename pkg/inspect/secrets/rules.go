package secrets

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// defaultRules is gitleaks' own default configuration, verbatim; see
// rules/NOTICE for its origin and licence.
//
//go:embed rules/gitleaks.toml
var defaultRules []byte

// Rules is one parsed gitleaks-format rule file. It is inert until New
// compiles one or more of them into a Detector.
type Rules struct {
	rules []*rule
	// global allowlists apply to every rule of every set given to New;
	// targeted ones ([[allowlists]] with targetRules) only to the rules
	// they name, which may come from another set.
	global   []*allowlist
	targeted map[string][]*allowlist
	// disabled lists [extend] disabledRules: rule ids of earlier sets
	// that New drops.
	disabled   []string
	useDefault bool
	// pathOnly are rules that match file names only; we scan content, so
	// they never fire and are left out.
	pathOnly []string
}

// rule is one [[rules]] entry.
type rule struct {
	id          string
	re          *regexp.Regexp
	secretGroup int
	entropy     float64
	keywords    []string // lower case, as gitleaks compares them
	allowlists  []*allowlist
}

// ExtendsDefault reports whether the file asked for the default rules
// ([extend] useDefault = true); the caller decides whether to pass
// DefaultRules to New as well.
func (r *Rules) ExtendsDefault() bool { return r.useDefault }

// DefaultRules parses the embedded gitleaks default configuration.
func DefaultRules() (*Rules, error) {
	r, err := Load(defaultRules)
	if err != nil {
		return nil, fmt.Errorf("default rules: %w", err)
	}
	return r, nil
}

// Load parses a gitleaks configuration file (TOML). Unknown fields are
// errors, and an error in a rule names the rule's id. Features that need
// what a proxy does not have are refused rather than ignored: [extend]
// path and url (combine rule sets with New instead) and composite rules
// ([[rules.required]]).
func Load(data []byte) (*Rules, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("secrets rules: %w", err)
	}
	top := newTable("secrets rules", raw)
	for _, k := range []string{"title", "description", "minVersion"} {
		if _, err := top.str(k); err != nil {
			return nil, err
		}
	}
	out := &Rules{targeted: map[string][]*allowlist{}}
	if err := out.readExtend(top); err != nil {
		return nil, err
	}
	if err := out.readGlobalAllowlists(top); err != nil {
		return nil, err
	}
	rules, err := top.tables("rules")
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(rules))
	for i, m := range rules {
		r, pathOnly, err := readRule(i, m)
		if err != nil {
			return nil, err
		}
		if seen[r.id] {
			return nil, fmt.Errorf("rule %q: defined twice", r.id)
		}
		seen[r.id] = true
		if pathOnly {
			out.pathOnly = append(out.pathOnly, r.id)
			continue
		}
		out.rules = append(out.rules, r)
	}
	if err := top.done(); err != nil {
		return nil, err
	}
	return out, nil
}

func (out *Rules) readExtend(top *table) error {
	ext, err := top.tables("extend")
	if err != nil || len(ext) == 0 {
		return err
	}
	if len(ext) > 1 {
		return errors.New("secrets rules: extend: want one table")
	}
	t := newTable("extend", ext[0])
	for _, k := range []string{"path", "url"} {
		v, err := t.str(k)
		if err != nil {
			return err
		}
		if v != "" {
			return t.errorf("%s is not supported: pass each rule set to New instead", k)
		}
	}
	if out.useDefault, err = t.boolean("useDefault"); err != nil {
		return err
	}
	if out.disabled, err = t.strs("disabledRules"); err != nil {
		return err
	}
	return t.done()
}

func (out *Rules) readGlobalAllowlists(top *table) error {
	old, err := top.tables("allowlist")
	if err != nil {
		return err
	}
	lists, err := top.tables("allowlists")
	if err != nil {
		return err
	}
	if len(old) > 0 && len(lists) > 0 {
		// gitleaks refuses the mix too.
		return errors.New("secrets rules: [allowlist] is deprecated and cannot be used alongside [[allowlists]]")
	}
	for i, m := range append(old, lists...) {
		a, targets, err := readAllowlist(fmt.Sprintf("allowlists[%d]", i), m, true)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			out.global = append(out.global, a)
			continue
		}
		for _, id := range targets {
			out.targeted[id] = append(out.targeted[id], a)
		}
	}
	return nil
}

// readRule parses one [[rules]] table; pathOnly reports a rule with a path
// and no regex.
func readRule(i int, m map[string]any) (r *rule, pathOnly bool, err error) {
	t := newTable(fmt.Sprintf("rules[%d]", i), m)
	r = &rule{}
	if r.id, err = t.str("id"); err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(r.id) == "" {
		return nil, false, t.errorf("id is missing or empty")
	}
	t.where = fmt.Sprintf("rule %q", r.id)
	if _, err = t.str("description"); err != nil {
		return nil, false, err
	}
	if _, err = t.strs("tags"); err != nil {
		return nil, false, err
	}
	src, err := t.str("regex")
	if err != nil {
		return nil, false, err
	}
	path, err := t.str("path")
	if err != nil {
		return nil, false, err
	}
	if path != "" {
		// A path narrows a content rule to some files; we never have a
		// file name, so we check the path compiles and otherwise ignore
		// it (gitleaks would never run such a rule on pathless text).
		if _, err := regexp.Compile(path); err != nil {
			return nil, false, t.errorf("path: %w", err)
		}
	}
	if src == "" && path == "" {
		return nil, false, t.errorf("both regex and path are empty: the rule would have no effect")
	}
	if r.secretGroup, err = t.integer("secretGroup"); err != nil {
		return nil, false, err
	}
	if r.entropy, err = t.num("entropy"); err != nil {
		return nil, false, err
	}
	kws, err := t.strs("keywords")
	if err != nil {
		return nil, false, err
	}
	for _, k := range kws {
		if k == "" {
			return nil, false, t.errorf("keywords: empty keyword")
		}
		r.keywords = append(r.keywords, strings.ToLower(k))
	}
	if _, ok, err := t.get("required"); err != nil {
		return nil, false, err
	} else if ok {
		return nil, false, t.errorf("required (composite rules) is not supported")
	}
	skip, err := t.boolean("skipReport")
	if err != nil {
		return nil, false, err
	}
	if skip {
		return nil, false, t.errorf("skipReport only makes sense with required, which is not supported")
	}
	if err := r.readAllowlists(t); err != nil {
		return nil, false, err
	}
	if err := t.done(); err != nil {
		return nil, false, err
	}
	if src == "" {
		return r, true, nil
	}
	if r.re, err = regexp.Compile(src); err != nil {
		return nil, false, t.errorf("regex: %w", err)
	}
	if r.secretGroup > r.re.NumSubexp() {
		return nil, false, t.errorf("secretGroup %d, but the regex has %d groups", r.secretGroup, r.re.NumSubexp())
	}
	return r, false, nil
}

func (r *rule) readAllowlists(t *table) error {
	old, err := t.tables("allowlist")
	if err != nil {
		return err
	}
	lists, err := t.tables("allowlists")
	if err != nil {
		return err
	}
	if len(old) > 0 && len(lists) > 0 {
		return t.errorf("[rules.allowlist] is deprecated and cannot be used alongside [[rules.allowlists]]")
	}
	for i, m := range append(old, lists...) {
		a, _, err := readAllowlist(fmt.Sprintf("%s: allowlists[%d]", t.where, i), m, false)
		if err != nil {
			return err
		}
		r.allowlists = append(r.allowlists, a)
	}
	return nil
}
