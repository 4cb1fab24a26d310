package secrets

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agentguard/agentguard/pkg/inspect"
)

const (
	// maxSpan bounds how far a gate walks from its keyword, each way.
	// Every bounded part of the default rules is far shorter (the longest,
	// pypi's [\w-]{50,1000}, is 1,000); a longer walk (a private key body,
	// [\s\S-]{64,}?) makes the gate give up bounding, not drop anything.
	maxSpan = 2048
	// margin pads the end of a search, and joins candidates whose spans
	// come this close: the matcher sees the bytes after any match it can
	// find, so \b and $ there read as in the whole text (gated.go, 5).
	margin = utf8.UTFMax
	// callCost is the work charged for one regex call, on top of its
	// bytes: what a call costs before it reads anything.
	callCost = 64
)

// scratch is one Scan call's working memory, pooled.
type scratch struct {
	hits   []hit
	seen   []uint64 // keyword ids seen in the text
	trig   []uint64 // rules to run
	force  []uint64 // rules to run over the whole text
	sim    sim
	bt     btm
	cands  []cand
	active []int
	// byRule holds each gated rule's hits; touched, the rules with some.
	byRule  [][]ruleHit
	touched []int32
	merged  []ival
	found   []found
	budget  int
}

// ruleHit is a keyword hit for one rule: where the keyword starts, and
// its index among the rule's keywords.
type ruleHit struct{ at, local int32 }

// cand: a match may start in [lo, hi] and ends by end.
type cand struct{ lo, hi, end int }

type found struct {
	rule       int32
	start, end int // the secret
	match      int // where the whole match starts
	drop       bool
}

func (sc *scratch) charge(units int) error {
	sc.sim.work += units
	if sc.sim.work > sc.budget {
		return fmt.Errorf("%w: work budget spent", ErrLimit)
	}
	return nil
}

// Scan reports the secrets in texts. It returns an error wrapping ErrLimit
// past MaxFindings findings or its work budget, and ctx's error when ctx
// ends first.
func (d *Detector) Scan(ctx context.Context, texts []inspect.Text, emit func(inspect.Finding)) error {
	sc := d.pool.Get().(*scratch)
	defer d.release(sc)
	sc.sim.work, sc.budget = 0, workBase
	for _, t := range texts {
		sc.budget += workPerByte * len(t.Value)
	}
	n := 0
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("secrets: %w", err)
		}
		if err := d.scanText(ctx, sc, t.Value); err != nil {
			return err
		}
		for _, f := range sc.found {
			if f.drop {
				continue
			}
			if n == MaxFindings {
				return fmt.Errorf("%w: more than %d findings", ErrLimit, MaxFindings)
			}
			r := d.rules[f.rule]
			emit(inspect.Finding{Rule: r.id, Severity: r.severity, Text: i, Start: f.start, End: f.end, Score: 1})
			n++
		}
	}
	return nil
}

// release returns sc to the pool, without buffers a huge text grew.
func (d *Detector) release(sc *scratch) {
	if cap(sc.hits) > 1<<16 || cap(sc.sim.arena) > 1<<16 || cap(sc.cands) > 1<<16 {
		return
	}
	for _, r := range sc.touched {
		if cap(sc.byRule[r]) > 1<<16 {
			return
		}
	}
	sc.sim.text, sc.bt.t = "", "" // keep no text alive in the pool
	d.pool.Put(sc)
}

func setBit(b []uint64, i int32)      { b[i>>6] |= 1 << (i & 63) }
func hasBit(b []uint64, i int32) bool { return int(i>>6) < len(b) && b[i>>6]&(1<<(i&63)) != 0 }

func clearBits(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func (d *Detector) scanText(ctx context.Context, sc *scratch, text string) error {
	sc.found = sc.found[:0]
	if text == "" {
		return nil
	}
	sc.seen = clearBits(sc.seen, (len(d.kwLen)+63)/64)
	sc.trig = clearBits(sc.trig, d.nwords)
	sc.force = clearBits(sc.force, d.nwords)
	// Hits cost 8 bytes each; past a quarter of the text's length the
	// rules they trigger run over the whole text instead.
	var full, flagged, wide bool
	sc.hits, full, flagged, wide = d.kw.scan(text, sc.hits[:0], max(1<<12, len(text)/4), sc.seen)
	sc.sim.allASCII = !wide
	d.trigger(sc.seen, sc.trig, nil)
	for _, i := range d.always {
		setBit(sc.trig, i)
	}
	if full {
		copy(sc.force, sc.trig)
	}
	if (flagged && hasFoldRunes(text)) || (d.wideKeywords && wide) {
		// gitleaks lower-cases text with Unicode rules, so K (U+212A)
		// counts as k; and Go's (?i) matches ſ (U+017F) as s. Keywords
		// seen only that way trigger their rules over the whole text.
		seen := make([]uint64, len(sc.seen))
		low := strings.ReplaceAll(strings.ToLower(text), "ſ", "s")
		d.kw.scan(low, nil, 0, seen)
		d.trigger(seen, sc.trig, sc.force)
	}
	d.bucket(sc)
	for i, r := range d.rules {
		ri := int32(i)
		if !hasBit(sc.trig, ri) {
			continue
		}
		var err error
		if r.mode == modeGated && !hasBit(sc.force, ri) && !d.naive {
			err = d.gated(ctx, sc, ri, text)
		} else {
			err = d.whole(sc, ri, text)
			if err == nil {
				err = ctx.Err()
			}
		}
		if err != nil {
			return err
		}
	}
	d.dedup(sc, text)
	return nil
}

// bucket sorts the hits out by gated rule, with the keyword's index in
// the rule.
func (d *Detector) bucket(sc *scratch) {
	if len(sc.byRule) < len(d.rules) {
		sc.byRule = make([][]ruleHit, len(d.rules))
	}
	for _, r := range sc.touched {
		sc.byRule[r] = sc.byRule[r][:0]
	}
	sc.touched = sc.touched[:0]
	for _, h := range sc.hits {
		for _, k := range d.kwRule[h.kw] {
			if d.rules[k.rule].mode != modeGated || hasBit(sc.force, k.rule) {
				continue
			}
			if len(sc.byRule[k.rule]) == 0 {
				sc.touched = append(sc.touched, k.rule)
			}
			sc.byRule[k.rule] = append(sc.byRule[k.rule], ruleHit{at: h.end - d.kwLen[h.kw], local: k.local})
		}
	}
}

// trigger marks in trig (and in force, if given) the rules of the seen
// keywords.
func (d *Detector) trigger(seen, trig, force []uint64) {
	for w, set := range seen {
		for word := set; word != 0; {
			b := word & -word
			word &^= b
			id := w*64 + bits.TrailingZeros64(b)
			for _, k := range d.kwRule[id] {
				setBit(trig, k.rule)
				if force != nil {
					setBit(force, k.rule)
				}
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hasFoldRunes(s string) bool {
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f") || strings.Contains(s, "\u0130")
}

// whole runs rule ri over all of text, as gitleaks does.
func (d *Detector) whole(sc *scratch, ri int32, text string) error {
	r := d.rules[ri]
	if err := sc.charge(r.weight*len(text) + callCost); err != nil {
		return err
	}
	for _, m := range r.re.FindAllStringIndex(text, -1) {
		if err := d.consider(sc, ri, text, m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// consider applies gitleaks' per-match steps to the match [a, b) of rule
// ri: trim newlines, pick the secret group from a match of the trimmed
// text alone, check entropy, then the global and the rule's allowlists.
func (d *Detector) consider(sc *scratch, ri int32, text string, a, b int) error {
	r := d.rules[ri]
	m := text[a:b]
	trimmed := strings.Trim(m, "\n")
	if trimmed == "" {
		return nil
	}
	off := a + len(m) - len(strings.TrimLeft(m, "\n"))
	s, e := off, off+len(trimmed)
	if n := r.re.NumSubexp(); n > 0 {
		if err := sc.charge(r.weight*len(trimmed) + callCost); err != nil {
			return err
		}
		if g := d.submatch(sc, r, trimmed); g != nil {
			if k := r.secretGroup; k > 0 {
				if g[2*k] < 0 || g[2*k+1] == g[2*k] {
					return nil
				}
				s, e = off+g[2*k], off+g[2*k+1]
			} else {
				for k := 1; k <= n; k++ {
					if g[2*k] >= 0 && g[2*k+1] > g[2*k] {
						s, e = off+g[2*k], off+g[2*k+1]
						break
					}
				}
			}
		}
	}
	secret := text[s:e]
	if r.entropy != 0 && entropy(secret) <= r.entropy {
		return nil
	}
	line := func() string { return gitleaksLine(text, a, a+len(trimmed)) }
	for _, al := range d.global {
		if al.allows(&sc.bt, secret, trimmed, line) {
			return nil
		}
	}
	for _, al := range r.allow {
		if al.allows(&sc.bt, secret, trimmed, line) {
			return nil
		}
	}
	sc.found = append(sc.found, found{rule: ri, start: s, end: e, match: a})
	if len(sc.found) > 4*MaxFindings {
		// More than dedup could bring under MaxFindings.
		return fmt.Errorf("%w: more than %d findings", ErrLimit, MaxFindings)
	}
	return nil
}

// dedup drops a generic rule's finding when a specific rule found a
// secret on the same line that contains it, as gitleaks' filter does.
func (d *Detector) dedup(sc *scratch, text string) {
	for i := range sc.found {
		f := &sc.found[i]
		if !d.rules[f.rule].generic {
			continue
		}
		for _, g := range sc.found {
			if g.rule == f.rule || d.rules[g.rule].generic {
				continue
			}
			lo, hi := min(f.match, g.match), max(f.match, g.match)
			if strings.IndexByte(text[lo:hi], '\n') < 0 && strings.Contains(text[g.start:g.end], text[f.start:f.end]) {
				f.drop = true
				break
			}
		}
	}
}

// entropy is gitleaks' Shannon entropy: rune frequencies over the byte
// length.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var ascii [utf8.RuneSelf]int
	var wide []rune
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii[r]++
		} else {
			wide = append(wide, r)
		}
	}
	inv := 1 / float64(len(s))
	var e float64
	add := func(c int) {
		f := float64(c) * inv
		e -= f * math.Log2(f)
	}
	for _, c := range ascii {
		if c > 0 {
			add(c)
		}
	}
	// gitleaks sums in map order; a fixed order keeps ours repeatable.
	slices.Sort(wide)
	for i := 0; i < len(wide); {
		j := i
		for j < len(wide) && wide[j] == wide[i] {
			j++
		}
		add(j - i)
		i = j
	}
	return e
}
