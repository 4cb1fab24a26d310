package secrets

import (
	"math/bits"
	"regexp/syntax"
	"sort"
	"unicode"
	"unicode/utf8"
)

// A rule regex is analysed once, at New, into a node tree that the gate
// (sim.go) can run cheaply around each keyword hit. The tree describes the
// regex's language with captures dropped, and with every empty-width
// assertion (\b, ^, $, \A, \z) taken as always true, so it accepts a
// superset of what the regex matches: a gate built on it may let a
// non-match through (the regex then says no) but never stops a match.

type nodeKind uint8

const (
	nEmpty nodeKind = iota // the empty string, and every assertion but \A
	nBegin                 // \A (^ without m): empty, and only at the start
	nFail
	nLit
	nClass
	nRep
	nCat
	nAlt
)

type node struct {
	kind     nodeKind
	lit      []litRune
	cls      *charClass
	sub      []*node
	min, max int // nRep; max < 0 is unbounded
	// nullable: matches the empty string. first and last: the bytes a
	// non-empty match can start and end with (a superset). mid: can
	// match somewhere other than the start of the text; firstMid: first
	// for such matches.
	nullable    bool
	first, last byteSet
	mid         bool
	firstMid    byteSet
	all         byteSet // every byte a match can hold
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }
func (b *byteSet) add(c byte)      { b[c>>6] |= 1 << (c & 63) }
func (b *byteSet) addHigh()        { b[2], b[3] = ^uint64(0), ^uint64(0) }
func (b *byteSet) or(o *byteSet) {
	for i := range b {
		b[i] |= o[i]
	}
}

// addClass adds the bytes that can start a rune of c.
func (b *byteSet) addClass(c *charClass) {
	b[0] |= c.ascii[0]
	b[1] |= c.ascii[1]
	if len(c.wide) > 0 {
		b.addHigh()
	}
}

// addRune adds the byte that starts (or ends) r and its case variants
// when fold is set. Anything not ASCII adds every high byte: invalid
// UTF-8 reads as U+FFFD, and the fold orbits of k and s leave ASCII.
func (b *byteSet) addRune(r rune, fold bool) {
	rs := []rune{r}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			rs = append(rs, f)
		}
	}
	for _, x := range rs {
		if x < utf8.RuneSelf {
			b.add(byte(x))
		} else {
			b.addHigh()
		}
	}
}

// annotate fills nullable, first and last, bottom up.
func annotate(n *node) {
	for _, c := range n.sub {
		annotate(c)
	}
	n.mid = true
	defer func() {
		n.all.or(&n.first)
		n.all.or(&n.last)
		for _, c := range n.sub {
			n.all.or(&c.all)
		}
		if n.kind == nLit {
			for _, l := range n.lit {
				n.all.addRune(l.r, l.fold)
			}
		}
	}()
	switch n.kind {
	case nEmpty:
		n.nullable = true
	case nBegin:
		n.nullable, n.mid = true, false
	case nLit:
		n.nullable = len(n.lit) == 0
		if !n.nullable {
			n.first.addRune(n.lit[0].r, n.lit[0].fold)
			l := n.lit[len(n.lit)-1]
			n.last.addRune(l.r, l.fold)
		}
	case nClass:
		n.first[0], n.first[1] = n.cls.ascii[0], n.cls.ascii[1]
		if len(n.cls.wide) > 0 {
			n.first.addHigh()
		}
		n.last = n.first
	case nRep:
		c := n.sub[0]
		n.nullable = n.min == 0 || c.nullable
		n.first, n.last = c.first, c.last
		n.mid = n.min == 0 || c.mid
		if c.mid {
			n.firstMid = c.firstMid
		}
		return
	case nCat:
		n.nullable = true
		for _, c := range n.sub {
			n.mid = n.mid && c.mid
			n.first.or(&c.first)
			if !c.nullable {
				n.nullable = false
				break
			}
		}
		for _, c := range n.sub {
			n.mid = n.mid && c.mid
		}
		for i := len(n.sub) - 1; i >= 0; i-- {
			n.last.or(&n.sub[i].last)
			if !n.sub[i].nullable {
				break
			}
		}
	case nAlt:
		n.mid = false
		for _, c := range n.sub {
			n.nullable = n.nullable || c.nullable
			n.first.or(&c.first)
			n.last.or(&c.last)
			if c.mid {
				n.mid = true
				n.firstMid.or(&c.firstMid)
			}
		}
		return
	}
	if n.mid {
		n.firstMid = n.first
	}
}

type litRune struct {
	r    rune
	fold bool
}

// charClass is a set of runes: a bitmap for ASCII, sorted ranges above.
type charClass struct {
	ascii [2]uint64
	wide  []rune // lo, hi pairs, all >= utf8.RuneSelf
}

func newClass(ranges []rune) *charClass {
	c := &charClass{}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			c.ascii[r>>6] |= 1 << (r & 63)
		}
		if hi >= utf8.RuneSelf {
			c.wide = append(c.wide, max(lo, utf8.RuneSelf), hi)
		}
	}
	return c
}

func (c *charClass) hasASCII(b byte) bool { return c.ascii[b>>6]&(1<<(b&63)) != 0 }

func (c *charClass) has(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && c.hasASCII(byte(r))
	}
	i := sort.Search(len(c.wide)/2, func(i int) bool { return c.wide[2*i+1] >= r })
	return i < len(c.wide)/2 && c.wide[2*i] <= r
}

// runes lists the class's runes when there are at most n of them.
func (c *charClass) runes(n int) ([]rune, bool) {
	count := bits.OnesCount64(c.ascii[0]) + bits.OnesCount64(c.ascii[1])
	for i := 0; i < len(c.wide); i += 2 {
		count += int(c.wide[i+1]-c.wide[i]) + 1
	}
	if count > n {
		return nil, false
	}
	var out []rune
	for r := rune(0); r < utf8.RuneSelf; r++ {
		if c.hasASCII(byte(r)) {
			out = append(out, r)
		}
	}
	for i := 0; i < len(c.wide); i += 2 {
		for r := c.wide[i]; r <= c.wide[i+1]; r++ {
			out = append(out, r)
		}
	}
	return out, true
}

// foldClass is the class of runes a case-folded literal rune matches.
func foldClass(l litRune) *charClass {
	rs := []rune{l.r, l.r}
	if l.fold {
		for f := unicode.SimpleFold(l.r); f != l.r; f = unicode.SimpleFold(f) {
			rs = append(rs, f, f)
		}
	}
	return newClass(rs)
}

// toNode converts a parsed regex (syntax.Perl, as regexp.Compile parses).
func toNode(re *syntax.Regexp) *node {
	switch re.Op {
	case syntax.OpNoMatch:
		return &node{kind: nFail}
	case syntax.OpLiteral:
		n := &node{kind: nLit}
		for _, r := range re.Rune {
			n.lit = append(n.lit, litRune{r: r, fold: re.Flags&syntax.FoldCase != 0})
		}
		return n
	case syntax.OpCharClass:
		return &node{kind: nClass, cls: newClass(re.Rune)}
	case syntax.OpAnyCharNotNL:
		return &node{kind: nClass, cls: newClass([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune})}
	case syntax.OpAnyChar:
		return &node{kind: nClass, cls: newClass([]rune{0, unicode.MaxRune})}
	case syntax.OpCapture:
		return toNode(re.Sub[0])
	case syntax.OpStar:
		return rep(toNode(re.Sub[0]), 0, -1)
	case syntax.OpPlus:
		return rep(toNode(re.Sub[0]), 1, -1)
	case syntax.OpQuest:
		return rep(toNode(re.Sub[0]), 0, 1)
	case syntax.OpRepeat:
		return rep(toNode(re.Sub[0]), re.Min, re.Max)
	case syntax.OpConcat:
		n := &node{kind: nCat}
		for _, s := range re.Sub {
			c := toNode(s)
			switch c.kind {
			case nEmpty:
			case nCat:
				n.sub = append(n.sub, c.sub...)
			default:
				n.sub = append(n.sub, c)
			}
		}
		return n
	case syntax.OpAlternate:
		n := &node{kind: nAlt}
		for _, s := range re.Sub {
			n.sub = append(n.sub, toNode(s))
		}
		return n
	}
	if re.Op == syntax.OpBeginText {
		return &node{kind: nBegin}
	}
	// Empty match and the other assertions.
	return &node{kind: nEmpty}
}

func rep(sub *node, lo, hi int) *node {
	if sub.kind == nEmpty || hi == 0 {
		return &node{kind: nEmpty}
	}
	if sub.kind == nLit && len(sub.lit) == 1 {
		// A repeated single rune runs as a class.
		sub = &node{kind: nClass, cls: foldClass(sub.lit[0])}
	}
	return &node{kind: nRep, sub: []*node{sub}, min: lo, max: hi}
}

// seq is a node as a list of concatenated parts.
func seq(n *node) []*node {
	switch n.kind {
	case nCat:
		return n.sub
	case nEmpty:
		return nil
	}
	return []*node{n}
}

// unroll writes a part that repeats a sequence at least once, x{2,4}, as
// x x{1,3}, so a keyword that starts the sequence can join the parts
// before it: xox[pe](?:-[0-9]{10,13}){3} holds the keyword "xoxp-".
func unroll(parts []*node) []*node {
	var out []*node
	for _, p := range parts {
		if p.kind != nRep || p.min < 1 || p.sub[0].kind == nClass {
			out = append(out, p)
			continue
		}
		out = append(out, seq(p.sub[0])...)
		hi := p.max
		if hi > 0 {
			hi--
		}
		if r := rep(p.sub[0], p.min-1, hi); r.kind != nEmpty {
			annotate(r)
			out = append(out, r)
		}
	}
	return out
}

// span is the longest match of parts, in runes, capped at 1<<20.
func span(parts []*node) int {
	n := 0
	for _, p := range parts {
		n = min(n+p.span(), 1<<20)
	}
	return n
}

// minLen is the shortest match of n, in runes.
func (n *node) minLen() int {
	switch n.kind {
	case nLit:
		return len(n.lit)
	case nClass:
		return 1
	case nRep:
		return min(n.min*n.sub[0].minLen(), 1<<20)
	case nCat:
		m := 0
		for _, c := range n.sub {
			m = min(m+c.minLen(), 1<<20)
		}
		return m
	case nAlt:
		m := 1 << 20
		for _, c := range n.sub {
			m = min(m, c.minLen())
		}
		return m
	case nFail:
		return 1 << 20
	}
	return 0
}

func (n *node) span() int {
	switch n.kind {
	case nLit:
		return len(n.lit)
	case nClass:
		return 1
	case nRep:
		if n.max < 0 {
			return 1 << 20
		}
		return min(n.max*n.sub[0].span(), 1<<20)
	case nCat:
		return span(n.sub)
	case nAlt:
		m := 0
		for _, c := range n.sub {
			m = max(m, c.span())
		}
		return m
	}
	return 0
}
