package secrets

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Windows: where a gated rule's regex runs, and why no match is lost.
//
// gitleaks runs a triggered rule's regex over the whole text. We run it
// only from candidate starts, each over the text up to that candidate's
// end bound. The candidates and bounds come from the keyword hits:
//
//  1. Every match of a gated rule holds one of the rule's keywords at the
//     place of its keyword part: decompose proves it from the regex (each
//     string the part matches contains a keyword, ignoring ASCII case).
//     The prefilter reports every occurrence of every keyword. Texts with
//     the non-ASCII runes that fold into ASCII (K, ſ, İ) run the rules
//     those runes could trigger over the whole text instead.
//  2. From such an occurrence the gate walks the regex's parts after and
//     before the keyword part, with every assertion taken as true and
//     sets of positions widened to intervals: a superset of the regex.
//     So a match through this occurrence starts at one of its candidate
//     starts and ends by its end bound (the furthest the walk reaches).
//  3. A walk that would pass maxSpan bytes stops bounding: forward, the
//     end bound becomes the end of the text; backward, the rule runs
//     over the whole text.
//  4. Candidates are tried left to right, each search resuming where the
//     last match ended, as FindAll does. A position that is no candidate
//     cannot start a match, so skipping it changes nothing.
//  5. The matcher sees the text cut margin bytes after the end bound. A
//     match attempt from the candidate cannot reach the cut (by 2), so
//     the cut decides no $ or \b, and the text before the candidate is
//     there for \b and ^.
//
// The window is thus exact per hit, not a fixed size: the generic rule's
// is some tens of bytes around "key = ...", and a private key's runs to
// its footer. TestCorpus and FuzzScan compare the result with the whole-text
// run (Detector.naive).

// gated runs rule ri from the candidates its gate leaves.
func (d *Detector) gated(ctx context.Context, sc *scratch, ri int32, text string) error {
	r := d.rules[ri]
	sc.cands = sc.cands[:0]
	sc.sim.text = text
	// open: a forward walk of this rule ran past maxSpan. Later ones would
	// too, each paying maxSpan bytes, so they are skipped and their end
	// bound is the end of the text.
	open := false
	for i, h := range sc.byRule[ri] {
		if i&(1<<12-1) == 1<<12-1 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("secrets: %w", err)
			}
		}
		at := int(h.at)
		for bi := range r.branches {
			b := &r.branches[bi]
			for _, ref := range b.refs[h.local] {
				x := b.k[ref.x]
				ke, ok := litFwd(text, x[ref.o:], at)
				if !ok {
					continue
				}
				ks, ok := litBwd(text, x[:ref.o], at)
				if !ok {
					continue
				}
				ascii := sc.sim.allASCII
				if b.postCheck != nil && !b.postCheck.holds(text, ke, true, ascii) ||
					b.preCheck != nil && !b.preCheck.holds(text, ks, false, ascii) {
					continue
				}
				sc.sim.reset(text, ks-maxSpan, ke+maxSpan)
				var starts []ival
				if b.preFirst {
					if starts = sc.sim.seq(b.pre, sc.sim.point(ks), false); sc.sim.overflow {
						return d.whole(sc, ri, text) // no bound on where a match starts
					}
					if len(starts) == 0 {
						continue
					}
				}
				end := len(text)
				if !open {
					ends := sc.sim.seq(b.post, sc.sim.point(ke), true)
					if open = sc.sim.overflow; !open {
						if len(ends) == 0 {
							continue
						}
						end = ends[len(ends)-1].hi
					}
				}
				if !b.preFirst {
					sc.sim.overflow = false
					if starts = sc.sim.seq(b.pre, sc.sim.point(ks), false); sc.sim.overflow {
						return d.whole(sc, ri, text)
					}
				}
				for _, iv := range starts {
					sc.cands = append(sc.cands, cand{iv.lo, iv.hi, end})
				}
			}
		}
		if sc.sim.work > sc.budget {
			return fmt.Errorf("%w: work budget spent", ErrLimit)
		}
	}
	if len(sc.cands) == 0 {
		return nil
	}
	cands := sc.cands
	slices.SortFunc(cands, func(a, b cand) int { return a.lo - b.lo })
	if r.bt != nil {
		width := 0
		for _, c := range cands {
			width = max(width, c.end-c.lo)
		}
		if (width+2*margin)*len(r.bt.inst) <= maxMemo {
			return d.eachStart(ctx, sc, ri, text, cands)
		}
	}
	cursor := 0
	for i := 0; i < len(cands); {
		j, end := i, cands[i].end
		for j+1 < len(cands) && cands[j+1].lo <= end+margin {
			j++
			end = max(end, cands[j].end)
		}
		end = min(len(text), end+margin)
		sc.merged = sc.merged[:0]
		for _, c := range cands[i : j+1] {
			if n := len(sc.merged); n > 0 && c.lo <= sc.merged[n-1].hi+1 {
				sc.merged[n-1].hi = max(sc.merged[n-1].hi, c.hi)
				continue
			}
			sc.merged = append(sc.merged, ival{c.lo, c.hi})
		}
		for {
			from, ok := firstStart(cands[i:j+1], cursor)
			if !ok {
				break
			}
			a, b, ok, err := d.find(sc, r, text, from, end)
			if err != nil {
				return err
			}
			if !ok {
				if end == len(text) {
					return nil
				}
				break
			}
			if err := d.consider(sc, ri, text, a, b); err != nil {
				return err
			}
			cursor = b
		}
		i = j + 1
	}
	return nil
}

// eachStart tries the candidate starts in order on the backtracker, each
// over the text up to its own end bound: the largest end of the
// candidates that hold it. Any match from p ends by then, so the text cut
// there decides nothing (see find), and the memo stays small.
func (d *Detector) eachStart(ctx context.Context, sc *scratch, ri int32, text string, cands []cand) error {
	r := d.rules[ri]
	act := sc.active[:0] // candidates holding p
	defer func() { sc.active = act[:0] }()
	cursor, k, p := 0, 0, -1
	for n := 1; ; n++ {
		if n&(1<<12-1) == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("secrets: %w", err)
			}
		}
		q := max(cursor, p+1)
		act = slices.DeleteFunc(act, func(i int) bool { return cands[i].hi < q })
		if len(act) == 0 {
			if k == len(cands) {
				return nil
			}
			q = max(q, cands[k].lo)
		}
		for ; k < len(cands) && cands[k].lo <= q; k++ {
			if cands[k].hi >= q {
				act = append(act, k)
			}
		}
		if p = q; len(act) == 0 || p > 0 && runeStart(text, p) != p {
			continue
		}
		end := 0
		for _, i := range act {
			end = max(end, cands[i].end)
		}
		end = min(len(text), end+margin)
		if err := sc.charge(end - p + callCost); err != nil {
			return err
		}
		if !sc.bt.reset(r.bt, text[:end], p, end-p+1) || !sc.bt.at(p) {
			continue
		}
		cursor = sc.bt.end // before consider, which reuses sc.bt
		if err := d.consider(sc, ri, text, p, cursor); err != nil {
			return err
		}
	}
}

// firstStart is the first candidate start at or after cursor.
func firstStart(cands []cand, cursor int) (int, bool) {
	best, ok := 0, false
	for _, c := range cands {
		if c.hi < cursor {
			continue
		}
		if p := max(c.lo, cursor); !ok || p < best {
			best, ok = p, true
		}
	}
	return best, ok
}

// find returns the leftmost match of r starting at or after from and
// ending before end. The regex reads text[lo:end] where lo is the start
// of the rune before from, through "(?s:.)(?:regex)": the extra rune is
// consumed, never matched, so \b, ^ and the like at a match's first byte
// see the byte before it as in the whole text. At end, a match cannot
// reach it (candidates end margin bytes sooner), so $ or \b there never
// decide. From 0 the text's own start is the context, and the plain regex
// runs.
func (d *Detector) find(sc *scratch, r *crule, text string, from, end int) (a, b int, ok bool, err error) {
	if r.bt != nil && sc.bt.reset(r.bt, text[:end], from, end-from+1) {
		// The backtracker reads the whole text before end, so context
		// is exact; it tries the candidate starts in order.
		if err := sc.charge(end - from + callCost); err != nil {
			return 0, 0, false, err
		}
		for _, iv := range sc.merged {
			for p := max(iv.lo, from); p <= iv.hi && p <= end; p++ {
				if p > 0 && runeStart(text, p) != p {
					continue
				}
				if sc.bt.at(p) {
					return p, sc.bt.end, true, nil
				}
			}
		}
		return 0, 0, false, nil
	}
	lo, re := 0, r.re
	if from > 0 {
		lo, re = runeStart(text, from-1), r.ctx
	}
	if err := sc.charge(callCost); err != nil {
		return 0, 0, false, err
	}
	// Charged for what the search read: to the match's end, or to end.
	// One search is linear; a text that makes many is stopped by the
	// budget at the next.
	m := re.FindStringIndex(text[lo:end])
	if m == nil {
		return 0, 0, false, sc.charge(r.weight * (end - lo))
	}
	if err := sc.charge(r.weight * m[1]); err != nil {
		return 0, 0, false, err
	}
	a = lo + m[0]
	if from > 0 {
		_, w := utf8.DecodeRuneInString(text[a:end])
		a += w
	}
	return a, lo + m[1], true, nil
}

// runeStart is the start of the rune holding byte p, as Go's regexp
// decodes text: invalid bytes are runes of their own.
func runeStart(t string, p int) int {
	for i := p; i >= 0 && i > p-utf8.UTFMax; i-- {
		if utf8.RuneStart(t[i]) {
			if _, w := utf8.DecodeRuneInString(t[i:]); i+w > p {
				return i
			}
			return p
		}
	}
	return p
}

// submatch is r.re.FindStringSubmatchIndex(s).
func (d *Detector) submatch(sc *scratch, r *crule, s string) []int {
	if r.bt == nil || !sc.bt.reset(r.bt, s, 0, len(s)+1) {
		return r.re.FindStringSubmatchIndex(s)
	}
	for p := 0; ; {
		if sc.bt.at(p) {
			sc.bt.caps[0], sc.bt.caps[1] = p, sc.bt.end
			return sc.bt.caps
		}
		if p >= len(s) {
			return nil
		}
		_, w := utf8.DecodeRuneInString(s[p:])
		p += w
	}
}
