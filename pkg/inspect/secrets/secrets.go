// Package secrets finds credentials in text with gitleaks' rules and
// semantics: the keyword prefilter, each rule's regex, secretGroup (or the
// first non-empty group), the Shannon entropy floor, rule and global
// allowlists with their stopwords, and gitleaks' preference of a specific
// rule over a generic one on the same line. The default rules are
// gitleaks' own (rules/gitleaks.toml); deployments add theirs with Load
// and New.
//
// What differs from gitleaks, on purpose:
//   - Rules that match file names only are left out, and a rule's path is
//     ignored: we scan message text, which has no path.
//   - A "gitleaks:allow" comment does not silence a finding: the text's
//     author is the party being checked.
//   - Encoded text (base64, hex, percent) is not decoded first (gitleaks
//     does so only when asked to, with --max-decode-depth).
//   - A finding whose secret group is empty is dropped: there is nothing
//     to redact.
//
// Load refuses what a proxy cannot honour: composite rules
// ([[rules.required]]) and [extend] path or url.
//
// How it is fast (prose dense with "key", "token", "password" is the hard
// case: gitleaks' generic rule matches near each of them):
//   - automaton.go: one Aho-Corasick pass finds every keyword.
//   - sim.go, run.go: around each hit, a gate walks the rule's regex and
//     bounds where a match could start and end (gated.go explains why no
//     match is lost); most hits in prose fail it within a few bytes.
//   - backtrack.go, btm.go: the regex then runs only there, on a
//     backtracker that gives Go's regexp answers at a fraction of its cost
//     on gitleaks' counted classes.
//
// Rules without keywords, and the few whose matches need not hold one of
// their keywords, run over the whole text with Go's regexp, as in gitleaks;
// Coverage names them.
package secrets

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// MaxFindings caps the findings of one Scan call. A message with more
// secrets than this is hostile or broken; reporting them all would only
// grow audit records and memory, and reporting part of them would let a
// redacting policy pass the rest. So Scan stops and returns ErrLimit, and
// the engine fails closed.
const MaxFindings = 100

// Work limits for hostile input. A Scan call may spend workPerByte units
// per input byte plus workBase; a unit is one byte read by a regex (times
// the regex's cost weight) or one position visited by a gate, a few
// nanoseconds. Measured: 10 MB of keyword-dense prose spends under 0.1
// unit per byte, text full of low-entropy "api_key = aaaa" lines about 20,
// and inputs built to defeat the gate (a YAML "kind: Secret / data:"
// header repeated) over a hundred; these are stopped, so a Scan costs at
// most about a tenth of a microsecond per byte.
const (
	workPerByte = 32
	workBase    = 1 << 22
)

// ErrLimit is returned (wrapped) when a Scan call exceeds MaxFindings or
// its work budget; the findings emitted before it stand.
var ErrLimit = errors.New("secrets: scan limit exceeded")

// severityOf is Critical for private key material and for cloud
// credentials that can act as a whole account (AWS, Alibaba Cloud and
// Yandex Cloud access keys, an Azure AD client secret, DigitalOcean
// tokens, the Cloudflare global API key); High for everything else,
// user rules included.
func severityOf(id string) inspect.Severity {
	switch id {
	case "private-key", "age-secret-key",
		"aws-access-token", "alibaba-access-key-id", "alibaba-secret-key",
		"yandex-aws-access-token", "azure-ad-client-secret",
		"digitalocean-pat", "digitalocean-access-token",
		"cloudflare-global-api-key":
		return inspect.Critical
	}
	return inspect.High
}

// Detector is the secrets detector. It is immutable after New and safe for
// concurrent use.
type Detector struct {
	rules  []*crule
	global []*allowlist
	kw     *automaton
	kwLen  []int32     // keyword id to its length in bytes
	kwRule [][]ruleKey // keyword id to the rules it triggers
	always []int32     // rules without keywords
	// wideKeywords: some keyword is not ASCII, so any non-ASCII text takes
	// the Unicode lower-casing path.
	wideKeywords bool
	nwords       int // words in a rule bitset
	// naive runs every triggered rule over the whole text, as gitleaks
	// does: the reference the gated scan is tested against.
	naive    bool
	coverage Coverage
	pool     sync.Pool // *scratch
}

var _ inspect.Detector = (*Detector)(nil)

// ruleKey is a rule and the index of a keyword among the rule's.
type ruleKey struct{ rule, local int32 }

// mode is how a rule runs.
type mode uint8

const (
	modeGated  mode = iota // the gate picks candidate starts around keyword hits
	modeWhole              // whole text, when a keyword occurs
	modeAlways             // whole text, always: the rule has no keywords
)

// crule is a rule compiled for one Detector.
type crule struct {
	*rule
	allow    []*allowlist // the rule's own and the targeted ones
	severity inspect.Severity
	generic  bool
	mode     mode
	branches []branch
	ctx      *regexp.Regexp // (?s:.)(?:regex): regex with one rune of context
	bt       *bprog         // the backtracker's program; nil: Go's regexp only
	weight   int            // cost of a regex byte, in work units
	kwIDs    []int32        // keyword ids of the rule, by its keyword index
}

// Coverage says how a Detector runs its rules.
type Coverage struct {
	Rules    int      // content rules scanned
	Gated    int      // rules run only where the gate leaves a candidate
	Whole    []string // rules run over the whole text when a keyword occurs
	Always   []string // rules without keywords: run over every text
	PathOnly []string // rules that match file names only: left out
}

// Coverage reports how the rules run.
func (d *Detector) Coverage() Coverage { return d.coverage }

// Name is "secrets".
func (d *Detector) Name() string { return "secrets" }

// Default builds a Detector from gitleaks' default rules.
func Default() (*Detector, error) {
	r, err := DefaultRules()
	if err != nil {
		return nil, err
	}
	return New(r)
}

// New compiles rule sets into one Detector. Later sets extend earlier
// ones: a rule replaces an earlier rule with the same id, a set's [extend]
// disabledRules drops earlier rules, global allowlists apply to every rule
// of every set, and targeted allowlists may name rules of any set.
func New(sets ...*Rules) (*Detector, error) {
	var order []*rule
	index := map[string]int{}
	var global []*allowlist
	var pathOnly []string
	for _, set := range sets {
		if set == nil {
			return nil, errors.New("secrets: nil rule set")
		}
		for _, id := range set.disabled {
			if i, ok := index[id]; ok {
				order[i] = nil
				delete(index, id)
			}
		}
		for _, r := range set.rules {
			if i, ok := index[r.id]; ok {
				order[i] = r
				continue
			}
			index[r.id] = len(order)
			order = append(order, r)
		}
		global = append(global, set.global...)
		pathOnly = append(pathOnly, set.pathOnly...)
	}
	extra := map[string][]*allowlist{}
	for _, set := range sets {
		for id, lists := range set.targeted {
			if _, ok := index[id]; !ok {
				return nil, fmt.Errorf("secrets: allowlist targets rule %q, which no rule set defines", id)
			}
			extra[id] = append(extra[id], lists...)
		}
	}
	d := &Detector{global: global}
	d.coverage.PathOnly = pathOnly
	kwID := map[string]int32{}
	var keywords []string
	for _, r := range order {
		if r == nil {
			continue
		}
		cr, err := d.compile(r, extra[r.id], kwID, &keywords)
		if err != nil {
			return nil, err
		}
		d.rules = append(d.rules, cr)
	}
	d.finish(keywords)
	return d, nil
}

func (d *Detector) compile(r *rule, extra []*allowlist, kwID map[string]int32, keywords *[]string) (*crule, error) {
	cr := &crule{
		rule:     r,
		allow:    append(append([]*allowlist{}, r.allowlists...), extra...),
		severity: severityOf(r.id),
		generic:  strings.Contains(strings.ToLower(r.id), "generic"),
	}
	src := r.re.String()
	ctx, err := regexp.Compile("(?s:.)(?:" + src + ")")
	if err != nil {
		return nil, fmt.Errorf("secrets: rule %q: %w", r.id, err)
	}
	cr.ctx = ctx
	parsed, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("secrets: rule %q: %w", r.id, err)
	}
	if prog, err := syntax.Compile(parsed.Simplify()); err == nil {
		cr.weight = 1 + len(prog.Inst)/64
	}
	cr.bt, _ = compileBacktrack(parsed)
	var uniq []string
	ascii := true
	for _, k := range r.keywords {
		id, ok := kwID[k]
		if !ok {
			id = int32(len(*keywords))
			kwID[k] = id
			*keywords = append(*keywords, k)
		}
		if slices.Contains(cr.kwIDs, id) {
			continue
		}
		cr.kwIDs = append(cr.kwIDs, id)
		uniq = append(uniq, k)
		for j := 0; j < len(k); j++ {
			ascii = ascii && k[j] < 0x80
		}
	}
	switch {
	case len(r.keywords) == 0:
		cr.mode = modeAlways
	case !ascii:
		cr.mode = modeWhole
		d.wideKeywords = true
	default:
		n := toNode(parsed)
		annotate(n)
		if bs, ok := decompose(n, uniq); ok {
			cr.branches = bs
			cr.mode = modeGated
		} else {
			cr.mode = modeWhole
		}
	}
	return cr, nil
}

// foldLeads are the first bytes of the runes outside ASCII that Unicode
// lower-casing or Go's case folding maps into ASCII: U+0130 (İ), U+017F
// (ſ), U+212A (Kelvin sign K).
const foldLeads = "\xc4\xc5\xe2"

func (d *Detector) finish(keywords []string) {
	d.kw = newAutomaton(keywords, []byte(foldLeads))
	d.kwLen = make([]int32, len(keywords))
	for i, k := range keywords {
		d.kwLen[i] = int32(len(k))
	}
	d.kwRule = make([][]ruleKey, len(keywords))
	d.nwords = (len(d.rules) + 63) / 64
	for i, r := range d.rules {
		d.coverage.Rules++
		switch r.mode {
		case modeAlways:
			d.always = append(d.always, int32(i))
			d.coverage.Always = append(d.coverage.Always, r.id)
		case modeWhole:
			d.coverage.Whole = append(d.coverage.Whole, r.id)
		default:
			d.coverage.Gated++
		}
		for li, id := range r.kwIDs {
			d.kwRule[id] = append(d.kwRule[id], ruleKey{rule: int32(i), local: int32(li)})
		}
	}
	d.pool.New = func() any { return &scratch{} }
}
