package secrets

import (
	"unicode"
	"unicode/utf8"
)

// The gate. Around one keyword hit it runs the parts of a rule's regex
// after the keyword forward, and the parts before it backward, over sets
// of text positions kept as intervals. The result bounds every match that
// could use this keyword occurrence: where it may start (the backward
// set) and the furthest it may end (the forward set's top). Repeats of a
// character class, which is what secret regexes are made of, cost one
// pass over the run whatever their counts, where Go's regexp expands
// [\w.=-]{10,150} into 150 states and spends hundreds of nanoseconds per
// byte on it; so the regex only runs where the gate leaves a candidate.
//
// Every step over-approximates (assertions hold, intervals may hold
// positions inside a rune), so the gate never drops a real match. A walk
// that would leave [limLo, limHi] sets overflow: the gate then cannot
// reject, and the caller widens the search to the whole text.

// ival is a closed interval of byte offsets.
type ival struct{ lo, hi int }

type sim struct {
	text         string
	limLo, limHi int
	overflow     bool
	allASCII     bool // the whole text is ASCII
	work         int
	arena        []ival // every set built since reset; read-only once built
	bnd          []int
}

func (s *sim) reset(text string, lo, hi int) {
	s.text, s.limLo, s.limHi, s.overflow = text, max(lo, 0), min(hi, len(text)), false
	s.arena = s.arena[:0]
}

func (s *sim) point(p int) []ival {
	s.arena = append(s.arena, ival{p, p})
	return s.arena[len(s.arena)-1 : len(s.arena) : len(s.arena)]
}

// fwd returns the positions reachable from in after n, reading forward.
func (s *sim) fwd(n *node, in []ival) []ival {
	if len(in) == 0 {
		return nil
	}
	switch n.kind {
	case nEmpty, nBegin:
		return in
	case nLit:
		return s.lit(n, in, true)
	case nClass:
		return s.runFwd(n.cls, 1, 1, in)
	case nRep:
		if n.sub[0].kind == nClass {
			return s.runFwd(n.sub[0].cls, n.min, n.max, in)
		}
		return s.repeat(n, in, true)
	case nCat:
		if !n.nullable {
			if in = s.filter(in, &n.first, true); len(in) == 0 {
				return nil
			}
		}
		for _, c := range n.sub {
			if in = s.fwd(c, in); len(in) == 0 {
				return nil
			}
		}
		return in
	case nAlt:
		return s.alt(n, in, true)
	}
	return nil
}

// bwd is fwd reading backward: from positions where n's match would end
// to positions where it would start.
func (s *sim) bwd(n *node, in []ival) []ival {
	if len(in) == 0 {
		return nil
	}
	switch n.kind {
	case nEmpty, nBegin:
		return in
	case nLit:
		return s.lit(n, in, false)
	case nClass:
		return s.runBwd(n.cls, 1, 1, in)
	case nRep:
		if n.sub[0].kind == nClass {
			return s.runBwd(n.sub[0].cls, n.min, n.max, in)
		}
		return s.repeat(n, in, false)
	case nCat:
		if !n.nullable {
			if in = s.filter(in, &n.last, false); len(in) == 0 {
				return nil
			}
		}
		for i := len(n.sub) - 1; i >= 0; i-- {
			if in = s.bwd(n.sub[i], in); len(in) == 0 {
				return nil
			}
		}
		return in
	case nAlt:
		return s.alt(n, in, false)
	}
	return nil
}

func (s *sim) step(n *node, in []ival, forward bool) []ival {
	if forward {
		return s.fwd(n, in)
	}
	return s.bwd(n, in)
}

// seq runs parts in order (forward) or in reverse order (backward).
func (s *sim) seq(parts []*node, in []ival, forward bool) []ival {
	for i := range parts {
		p := parts[i]
		if !forward {
			p = parts[len(parts)-1-i]
		}
		if in = s.step(p, in, forward); len(in) == 0 {
			return nil
		}
	}
	return in
}

func (s *sim) alt(n *node, in []ival, forward bool) []ival {
	if !n.nullable {
		set := &n.first
		if !forward {
			set = &n.last
		}
		if in = s.filter(in, set, forward); len(in) == 0 {
			return nil
		}
	}
	var acc []ival
	for _, c := range n.sub {
		if !c.nullable && !s.maybe(in, c, forward) {
			continue
		}
		acc = s.union(acc, s.step(c, in, forward))
	}
	return acc
}

// maybe reports whether c might match at one of a few positions of in:
// most alternatives of an alternation fail on their first byte.
func (s *sim) maybe(in []ival, c *node, forward bool) bool {
	t := s.text
	n := 0
	for _, iv := range in {
		for p := iv.lo; p <= iv.hi; p++ {
			if n++; n > 8 {
				return true
			}
			if forward && p < len(t) && c.first.has(t[p]) || !forward && p > 0 && c.last.has(t[p-1]) {
				return true
			}
		}
	}
	return false
}

func (s *sim) repeat(n *node, in []ival, forward bool) []ival {
	cur := in
	for i := 0; i < n.min; i++ {
		if cur = s.step(n.sub[0], cur, forward); len(cur) == 0 {
			return nil
		}
	}
	acc := cur
	for i := n.min; n.max < 0 || i < n.max; i++ {
		if cur = s.step(n.sub[0], cur, forward); len(cur) == 0 {
			break
		}
		next := s.union(acc, cur)
		if same(next, acc) {
			break
		}
		acc = next
	}
	return acc
}

// filter keeps the positions whose next byte (forward) or previous byte
// (backward) can start n: cheap, and most gates stop here.
func (s *sim) filter(in []ival, set *byteSet, forward bool) []ival {
	start := len(s.arena)
	t := s.text
	for _, iv := range in {
		for p := iv.lo; p <= iv.hi; p++ {
			var ok bool
			if forward {
				ok = p < len(t) && set.has(t[p])
			} else {
				ok = p > 0 && set.has(t[p-1])
			}
			if ok {
				s.add(p, p)
			}
		}
		s.work += iv.hi - iv.lo + 1
	}
	return s.normalize(start)
}

func (s *sim) lit(n *node, in []ival, forward bool) []ival {
	start := len(s.arena)
	for _, iv := range in {
		for p := iv.lo; p <= iv.hi; p++ {
			var q int
			var ok bool
			if forward {
				q, ok = litFwd(s.text, n.lit, p)
			} else {
				q, ok = litBwd(s.text, n.lit, p)
			}
			if !ok {
				continue
			}
			if q > s.limHi || q < s.limLo {
				s.overflow = true
				continue
			}
			s.add(q, q)
		}
		s.work += iv.hi - iv.lo + 1
	}
	return s.normalize(start)
}

// litFwd matches l at p in t, reading forward; it returns the end.
func litFwd(t string, l []litRune, p int) (int, bool) {
	for _, lr := range l {
		if p >= len(t) {
			return 0, false
		}
		if b := t[p]; b < utf8.RuneSelf && lr.r < utf8.RuneSelf {
			if rune(b) != lr.r && (!lr.fold || lowerASCII(rune(b)) != lowerASCII(lr.r)) {
				return 0, false
			}
			p++
			continue
		}
		r, w := rune(t[p]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(t[p:])
		}
		if !runeEq(lr, r) {
			return 0, false
		}
		p += w
	}
	return p, true
}

// litBwd matches l ending at p in t; it returns the start.
func litBwd(t string, l []litRune, p int) (int, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		if p <= 0 {
			return 0, false
		}
		if b := t[p-1]; b < utf8.RuneSelf && l[i].r < utf8.RuneSelf {
			if rune(b) != l[i].r && (!l[i].fold || lowerASCII(rune(b)) != lowerASCII(l[i].r)) {
				return 0, false
			}
			p--
			continue
		}
		r, w := rune(t[p-1]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeLastRuneInString(t[:p])
		}
		if !runeEq(l[i], r) {
			return 0, false
		}
		p -= w
	}
	return p, true
}

func runeEq(l litRune, r rune) bool {
	if l.r == r {
		return true
	}
	if !l.fold {
		return false
	}
	if l.r < utf8.RuneSelf && r < utf8.RuneSelf {
		return lowerASCII(l.r) == lowerASCII(r)
	}
	for f := unicode.SimpleFold(l.r); f != l.r; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func (s *sim) add(lo, hi int) { s.arena = append(s.arena, ival{lo, hi}) }

// normalize sorts and merges the intervals added since start.
func (s *sim) normalize(start int) []ival {
	r := s.arena[start:]
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].lo < r[j-1].lo; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
	m := 0
	for i := range r {
		if m > 0 && r[i].lo <= r[m-1].hi+1 {
			r[m-1].hi = max(r[m-1].hi, r[i].hi)
			continue
		}
		r[m] = r[i]
		m++
	}
	s.arena = s.arena[:start+m]
	return s.arena[start : start+m : start+m]
}

func (s *sim) union(a, b []ival) []ival {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	start := len(s.arena)
	s.arena = append(s.arena, a...)
	s.arena = append(s.arena, b...)
	return s.normalize(start)
}

func same(a, b []ival) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
