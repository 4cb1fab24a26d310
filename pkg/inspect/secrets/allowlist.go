package secrets

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// target is what an allowlist's regexes are matched against.
type target uint8

const (
	targetSecret target = iota
	targetMatch
	targetLine
)

// allowlist is one gitleaks allowlist, evaluated as gitleaks'
// checkFindingAllowed does.
type allowlist struct {
	and    bool
	target target
	// regex is gitleaks' "(?:a|b|...)" join of the regexes. The join is
	// kept as gitleaks builds it, flags leaking across alternatives and
	// all: a leading (?i) in the first regex makes the rest
	// case-insensitive there too, and the result must match theirs.
	regex *matcher
	stop  *automaton // stopwords, lower case; nil when none
	// pathOrCommit: the allowlist names paths or commits. Content has
	// neither, so under AND such an allowlist never applies (as in
	// gitleaks scanning pathless text); under OR they are ignored.
	pathOrCommit bool
}

func readAllowlist(where string, m map[string]any, global bool) (*allowlist, []string, error) {
	t := newTable(where, m)
	a := &allowlist{}
	if _, err := t.str("description"); err != nil {
		return nil, nil, err
	}
	cond, err := t.str("condition")
	if err != nil {
		return nil, nil, err
	}
	switch strings.ToUpper(cond) {
	case "AND", "&&":
		a.and = true
	case "", "OR", "||":
	default:
		return nil, nil, t.errorf("condition %q: want AND or OR", cond)
	}
	tgt, err := t.str("regexTarget")
	if err != nil {
		return nil, nil, err
	}
	switch tgt {
	case "", "secret":
	case "match":
		a.target = targetMatch
	case "line":
		a.target = targetLine
	default:
		return nil, nil, t.errorf("regexTarget %q: want secret, match or line", tgt)
	}
	commits, err := t.strs("commits")
	if err != nil {
		return nil, nil, err
	}
	paths, err := t.strs("paths")
	if err != nil {
		return nil, nil, err
	}
	for i, p := range paths {
		if _, err := regexp.Compile(p); err != nil {
			return nil, nil, t.errorf("paths[%d]: %w", i, err)
		}
	}
	a.pathOrCommit = len(commits) > 0 || len(paths) > 0
	res, err := t.strs("regexes")
	if err != nil {
		return nil, nil, err
	}
	for i, r := range res {
		if _, err := regexp.Compile(r); err != nil {
			return nil, nil, t.errorf("regexes[%d]: %w", i, err)
		}
	}
	if len(res) > 0 {
		if a.regex, err = newMatcher("(?:" + strings.Join(res, "|") + ")"); err != nil {
			return nil, nil, t.errorf("regexes: joined: %w", err)
		}
	}
	words, err := t.strs("stopwords")
	if err != nil {
		return nil, nil, err
	}
	if len(words) > 0 {
		lower := make([]string, 0, len(words))
		for _, w := range words {
			if w != "" {
				lower = append(lower, strings.ToLower(w))
			}
		}
		// An empty stopword would be in every secret; gitleaks' trie
		// never reports it, so drop it the same way.
		if len(lower) > 0 {
			a.stop = newAutomaton(lower, nil)
		}
	}
	var targets []string
	if global {
		if targets, err = t.strs("targetRules"); err != nil {
			return nil, nil, err
		}
	}
	if err := t.done(); err != nil {
		return nil, nil, err
	}
	if !a.pathOrCommit && len(res) == 0 && len(words) == 0 {
		return nil, nil, t.errorf("must contain at least one of commits, paths, regexes or stopwords")
	}
	return a, targets, nil
}

// allows reports whether the allowlist lets a finding go. line is called
// only when the allowlist targets lines.
func (a *allowlist) allows(m *btm, secret, match string, line func() string) bool {
	if a.and && a.pathOrCommit {
		return false
	}
	var tgt string
	switch a.target {
	case targetMatch:
		tgt = match
	case targetLine:
		tgt = line()
	default:
		tgt = secret
	}
	regexOK := a.regex != nil && tgt != "" && a.regex.match(m, tgt)
	if !a.and {
		return regexOK || a.hasStopword(secret)
	}
	if a.regex != nil && !regexOK {
		return false
	}
	return a.stop == nil || a.hasStopword(secret)
}

// hasStopword is gitleaks' ContainsStopWord: the lower-cased secret
// contains a stopword.
func (a *allowlist) hasStopword(secret string) bool {
	if a.stop == nil || secret == "" {
		return false
	}
	for i := 0; i < len(secret); i++ {
		if secret[i] >= 0x80 {
			// Unicode lower-casing can change lengths and make ASCII
			// (K, U+212A, lowers to k); the automaton folds ASCII only.
			return a.stop.contains(strings.ToLower(secret))
		}
	}
	return a.stop.contains(secret)
}

// matcher is a compiled regex for MatchString-style questions, run on the
// backtracker from the positions its first byte allows: an allowlist's
// regexes run once per finding, on lines that may be long.
type matcher struct {
	re       *regexp.Regexp
	bt       *bprog // nil: re only
	first    byteSet
	nullable bool
	// mid: can match after the first byte, starting with a byte in
	// firstMid. gitleaks' global allowlist is mostly ^...$ patterns.
	mid      bool
	firstMid byteSet
	// must holds strings one of which any match contains; nil if none
	// are known.
	must *automaton
}

func newMatcher(src string) (*matcher, error) {
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	m := &matcher{re: re}
	parsed, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, err
	}
	n := toNode(parsed)
	annotate(n)
	m.first, m.nullable, m.mid, m.firstMid = n.first, n.nullable, n.mid, n.firstMid
	if words, ok := must(n); ok {
		m.must = newAutomaton(words, nil)
	}
	m.bt, _ = compileBacktrack(parsed)
	return m, nil
}

// match is re.MatchString(s).
func (x *matcher) match(m *btm, s string) bool {
	if x.must != nil && !x.must.contains(s) && isASCII(s) {
		// The automaton folds ASCII only; (?i) also folds K and ſ.
		return false
	}
	if x.bt == nil || !m.reset(x.bt, s, 0, len(s)+1) {
		return x.re.MatchString(s)
	}
	if (x.nullable || len(s) > 0 && x.first.has(s[0])) && m.at(0) {
		return true
	}
	if !x.mid {
		return false
	}
	for p := 0; p < len(s); {
		w := 1
		if s[p] >= utf8.RuneSelf {
			_, w = utf8.DecodeRuneInString(s[p:])
		}
		p += w
		if (x.nullable || p < len(s) && x.firstMid.has(s[p])) && m.at(p) {
			return true
		}
	}
	return false
}

// gitleaksLine is the "line" an allowlist with regexTarget = "line" sees,
// computed as gitleaks' detect/location.go does for a match [start, end):
// from the newline before the match (included) to the newline after it;
// when the match starts on the last line of a multi-line text, from the
// start of the text. The quirks are kept so allowlists behave as upstream.
func gitleaksLine(raw string, start, end int) string {
	last := strings.LastIndexByte(raw, '\n')
	if last < 0 {
		return raw
	}
	if start >= last {
		i := end
		for i < len(raw) && raw[i] != '\n' && raw[i] != '\r' {
			i++
		}
		return raw[:i]
	}
	s := strings.LastIndexByte(raw[:start+1], '\n')
	if s < 0 {
		s = 0
	}
	e := start + 1 + strings.IndexByte(raw[start+1:], '\n')
	if end > 0 {
		if j := strings.IndexByte(raw[end:], '\n'); j >= 0 {
			e = end + j
		}
	}
	if end > e {
		e = end
	}
	return raw[s:e]
}

// must lists strings one of which every match of n contains, ignoring
// ASCII case; false when there is no such list. It lets an allowlist skip
// its regex when the text holds none of them.
func must(n *node) ([]string, bool) {
	switch n.kind {
	case nLit:
		return []string{kstr(n.lit).lower()}, len(n.lit) > 0
	case nClass:
		rs, ok := n.cls.runes(4)
		var out []string
		for _, r := range rs {
			out = append(out, kstr{{r: r}}.lower())
		}
		return out, ok && len(rs) > 0
	case nRep:
		if n.min == 0 {
			return nil, false
		}
		return must(n.sub[0])
	case nCat:
		var best []string
		for _, c := range n.sub {
			if s, ok := must(c); ok && (best == nil || shortest(s) > shortest(best)) {
				best = s
			}
		}
		return best, best != nil
	case nAlt:
		var out []string
		for _, c := range n.sub {
			s, ok := must(c)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	}
	return nil, false
}

func shortest(s []string) int {
	n := 1 << 30
	for _, x := range s {
		n = min(n, len(x))
	}
	return n
}
