package secrets

import (
	"strings"
	"unicode/utf8"
)

// The keyword part: a rule runs gated when every match of its regex must
// contain one of its keywords at a place the analysis can name. The regex
// (as a node tree) is split into branches; in each, a run of consecutive
// parts with few exact strings ("key", "ghp_", "xoxp-") holds a keyword,
// and the gate walks the parts before and after it from a keyword hit.

// Limits of the exact-string analysis of the keyword part.
const (
	maxExact    = 64 // strings
	maxExactLen = 64 // runes each
)

type kstr []litRune

// exact lists every string n matches, when there are few and short ones.
func exact(n *node) ([]kstr, bool) {
	switch n.kind {
	case nEmpty, nBegin:
		return []kstr{nil}, true
	case nFail:
		return nil, true
	case nLit:
		return []kstr{n.lit}, len(n.lit) <= maxExactLen
	case nClass:
		rs, ok := n.cls.runes(8)
		out := make([]kstr, len(rs))
		for i, r := range rs {
			out[i] = kstr{{r: r}}
		}
		return out, ok
	case nRep:
		if n.max < 0 || n.max > 4 {
			return nil, false
		}
		sub, ok := exact(n.sub[0])
		if !ok {
			return nil, false
		}
		var out []kstr
		cur := []kstr{nil}
		for i := 0; i <= n.max; i++ {
			if i >= n.min {
				out = append(out, cur...)
			}
			if i == n.max {
				break
			}
			if cur, ok = cross(cur, sub); !ok || len(out) > maxExact {
				return nil, false
			}
		}
		return out, len(out) <= maxExact
	case nCat:
		cur := []kstr{nil}
		for _, c := range n.sub {
			e, ok := exact(c)
			if !ok {
				return nil, false
			}
			if cur, ok = cross(cur, e); !ok {
				return nil, false
			}
		}
		return cur, true
	case nAlt:
		var out []kstr
		for _, c := range n.sub {
			e, ok := exact(c)
			if !ok || len(out)+len(e) > maxExact {
				return nil, false
			}
			out = append(out, e...)
		}
		return out, true
	}
	return nil, false
}

func cross(a, b []kstr) ([]kstr, bool) {
	if len(a)*len(b) > maxExact {
		return nil, false
	}
	out := make([]kstr, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			if len(x)+len(y) > maxExactLen {
				return nil, false
			}
			out = append(out, append(append(kstr{}, x...), y...))
		}
	}
	return out, true
}

// lower is x with ASCII letters in lower case, as the keyword automaton
// sees text.
func (x kstr) lower() string {
	var b strings.Builder
	for _, l := range x {
		r := l.r
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// kref places a keyword in a keyword-part string: x[o:] starts where the
// keyword starts.
type kref struct {
	x int // index into branch.k
	o int // rune offset
}

// branch is one way a rule's regex can match: pre, then one of the
// strings in k (each contains a keyword), then post.
type branch struct {
	pre, post []*node
	k         []kstr
	refs      [][]kref // by the rule's keyword index: its places in k
	// preFirst: pre is the shorter side, so the gate walks it first; a
	// side that fails spares the other.
	preFirst bool
	// Quick necessary conditions on each side, nil when there is none.
	preCheck, postCheck *quick
}

// quick is a necessary condition for a side of a branch: walking away
// from the keyword part over at most max bytes of skip (what the leading
// optional parts can consume), a byte of need (what the first required
// part can start with) must come. In prose most keyword hits fail it
// within a few bytes: "key that was" never reaches "=" or ":".
type quick struct {
	skip, need byteSet
	step       [256]uint8 // per byte: stop, skip or need
	// max is the walk's length in runes, the most the optional parts
	// take: in bytes for ASCII text, and wide for any other, where a
	// rune may take utf8.UTFMax bytes.
	max int
	// open: the optional parts may run past maxSpan, where the gate
	// stops bounding; running out of bytes then proves nothing.
	open bool
	// then, forward only: what must follow the required part, when a
	// second required part comes soon after it.
	then *quickRun
}

// quickRun is the second stage of a forward quick check: from where the
// first required part starts, over at most max runes of skip (that part
// and the optional parts after it), a run of at least minRun bytes of run
// (the second required part) must start. Prose fails it on short words:
// "key, token, and" never has ten value bytes after the comma.
type quickRun struct {
	skip, run   byteSet
	max, minRun int
}

func (r *quickRun) holds(t string, p int, ascii bool) bool {
	n := r.max
	if !ascii {
		n *= utf8.UTFMax
	}
	for q := p + 1; q <= p+n && q <= len(t); q++ {
		if !r.skip.has(t[q-1]) {
			return false
		}
		k := 0
		for j := q; j < len(t) && k < r.minRun && r.run.has(t[j]); j++ {
			k++
		}
		if k >= r.minRun {
			return true
		}
	}
	return false
}

// thenRun builds the second stage after the required part parts[i].
func thenRun(parts []*node, i int) *quickRun {
	r := &quickRun{skip: parts[i].all, max: parts[i].span()}
	for _, p := range parts[i+1:] {
		if !p.nullable {
			r.run, r.minRun = p.all, p.minLen()
			if r.minRun < 2 || r.max >= maxSpan {
				return nil
			}
			return r
		}
		r.skip.or(&p.all)
		r.max = min(r.max+p.span(), maxSpan)
	}
	return nil
}

// quickCheck builds the condition for parts read in order (forward) or
// from the end (backward).
func quickCheck(parts []*node, forward bool) *quick {
	q := &quick{}
	for i := range parts {
		p := parts[i]
		if !forward {
			p = parts[len(parts)-1-i]
		}
		if !p.nullable {
			if forward {
				q.need = p.first
				q.then = thenRun(parts, i)
			} else {
				q.need = p.last
			}
			for b := 0; b < 256; b++ {
				switch {
				case q.need.has(byte(b)):
					q.step[b] = quickNeed
				case q.skip.has(byte(b)):
					q.step[b] = quickSkip
				}
			}
			return q
		}
		q.skip.or(&p.all)
		if q.max = min(q.max+p.span(), maxSpan); q.max == maxSpan {
			q.open = true
		}
	}
	return nil
}

// holds checks the condition at p; ascii says t is all ASCII.
func (q *quick) holds(t string, p int, forward, ascii bool) bool {
	n := q.max
	if !ascii {
		n = min(n*utf8.UTFMax, maxSpan)
	}
	if forward {
		for i := p; i < len(t) && i <= p+n; i++ {
			switch q.step[t[i]] {
			case quickNeed:
				if q.then == nil || q.then.holds(t, i, ascii) {
					return true
				}
				if !q.skip.has(t[i]) {
					return false
				}
			case quickStop:
				return false
			}
		}
		return q.open && p+n < len(t)
	}
	for i := p - 1; i >= 0 && i >= p-1-n; i-- {
		switch q.step[t[i]] {
		case quickNeed:
			return true
		case quickStop:
			return false
		}
	}
	return q.open && p-1-n >= 0
}

const (
	quickStop = iota
	quickSkip
	quickNeed
)

// maxBranches bounds how far alternations are split to find a keyword
// part.
const maxBranches = 32

// decompose splits n into branches whose keyword part is a run of
// consecutive parts with few exact strings, each containing one of the
// rule's keywords (lower case). An alternation is split into its
// alternatives only when no keyword part is found without doing so.
func decompose(n *node, keywords []string) ([]branch, bool) {
	if n.kind == nAlt {
		var out []branch
		for _, s := range n.sub {
			bs, ok := decompose(s, keywords)
			if !ok || len(out)+len(bs) > maxBranches {
				return nil, false
			}
			out = append(out, bs...)
		}
		return out, true
	}
	parts := unroll(seq(n))
	if b, ok := keywordPart(parts, keywords); ok {
		return []branch{b}, true
	}
	for i, p := range parts {
		if p.kind != nAlt {
			continue
		}
		var out []branch
		ok := true
		for _, a := range p.sub {
			flat := append(append(append([]*node{}, parts[:i]...), seq(a)...), parts[i+1:]...)
			bs, good := decompose(&node{kind: nCat, sub: flat}, keywords)
			if !good || len(out)+len(bs) > maxBranches {
				ok = false
				break
			}
			out = append(out, bs...)
		}
		if ok {
			return out, true
		}
	}
	return nil, false
}

func keywordPart(parts []*node, keywords []string) (branch, bool) {
	for i := range parts {
		cur := []kstr{nil}
		for j := i; j < len(parts); j++ {
			e, ok := exact(parts[j])
			if !ok {
				break
			}
			if cur, ok = cross(cur, e); !ok {
				break
			}
			b := branch{pre: parts[:i], post: parts[j+1:], k: cur, refs: make([][]kref, len(keywords))}
			b.preFirst = span(b.pre) <= span(b.post)
			b.preCheck, b.postCheck = quickCheck(b.pre, false), quickCheck(b.post, true)
			if b.place(keywords) {
				return b, true
			}
		}
	}
	return branch{}, false
}

// place fills refs and reports whether every string in k holds a keyword.
func (b *branch) place(keywords []string) bool {
	if len(b.k) == 0 {
		return false
	}
	for xi, x := range b.k {
		low := []rune(x.lower())
		found := false
		for ki, kw := range keywords {
			k := []rune(kw)
			for o := 0; o+len(k) <= len(low); o++ {
				if string(low[o:o+len(k)]) == kw {
					b.refs[ki] = append(b.refs[ki], kref{x: xi, o: o})
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}
