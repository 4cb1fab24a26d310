package secrets

import (
	"regexp/syntax"
	"unicode/utf8"
)

// btm runs a bprog over t. Only positions in [base, base+width) are
// memoised; a caller keeps every match inside them.
type btm struct {
	p       *bprog
	t       string
	base    int
	width   int
	visited []uint64
	caps    []int
	end     int
	bnd     []int
}

// maxMemo bounds the memo table, in bits; longer inputs go to Go's regexp.
const maxMemo = 1 << 22

func (m *btm) reset(p *bprog, t string, base, width int) bool {
	n := len(p.inst) * width
	if n > maxMemo {
		return false
	}
	m.p, m.t, m.base, m.width = p, t, base, width
	words := (n + 63) / 64
	if cap(m.visited) < words {
		m.visited = make([]uint64, words)
	}
	m.visited = m.visited[:words]
	clear(m.visited)
	if cap(m.caps) < p.ncap {
		m.caps = make([]int, p.ncap)
	}
	m.caps = m.caps[:p.ncap]
	return true
}

// at tries a match starting exactly at pos; on success m.end is its end
// and m.caps its submatches.
func (m *btm) at(pos int) bool {
	if !m.p.may(m.p.start, m.t, pos) {
		return false
	}
	for i := range m.caps {
		m.caps[i] = -1
	}
	return m.try(m.p.start, pos)
}

func (m *btm) try(pc, pos int) bool {
	t := m.t
	for {
		if off := pos - m.base; off >= 0 && off < m.width {
			k := pc*m.width + off
			if m.visited[k>>6]&(1<<(k&63)) != 0 {
				return false
			}
			m.visited[k>>6] |= 1 << (k & 63)
		}
		in := &m.p.inst[pc]
		switch in.op {
		case bMatch:
			m.end = pos
			return true
		case bRune:
			if pos >= len(t) {
				return false
			}
			r, w := rune(t[pos]), 1
			if r >= utf8.RuneSelf {
				r, w = utf8.DecodeRuneInString(t[pos:])
			}
			if !in.cls.has(r) {
				return false
			}
			pos += w
			pc = in.next
		case bLit:
			e, ok := litFwd(t, in.lit, pos)
			if !ok {
				return false
			}
			pos, pc = e, in.next
		case bAssert:
			if !m.holds(syntax.EmptyOp(in.n), pos) {
				return false
			}
			pc = in.next
		case bSave:
			old := m.caps[in.n]
			m.caps[in.n] = pos
			if m.try(in.next, pos) {
				return true
			}
			m.caps[in.n] = old
			return false
		case bSplit:
			if m.p.may(in.next, t, pos) && m.try(in.next, pos) {
				return true
			}
			pc = in.alt
		case bRun:
			return m.run(in, pos)
		default:
			return false
		}
	}
}

// run tries the counts of a class repeat in preference order.
func (m *btm) run(in *binst, pos int) bool {
	t := m.t
	base := len(m.bnd)
	m.bnd = append(m.bnd, pos)
	for q := pos; in.max < 0 || len(m.bnd)-base <= in.max; {
		if q >= len(t) {
			break
		}
		r, w := rune(t[q]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(t[q:])
		}
		if !in.cls.has(r) {
			break
		}
		q += w
		m.bnd = append(m.bnd, q)
	}
	n := len(m.bnd) - base - 1 // runes available, capped at max
	ok := false
	if in.greedy {
		for k := n; k >= in.min && !ok; k-- {
			ok = m.try(in.next, m.bnd[base+k])
		}
	} else {
		for k := in.min; k <= n && !ok; k++ {
			ok = m.try(in.next, m.bnd[base+k])
		}
	}
	m.bnd = m.bnd[:base]
	return ok
}

func (m *btm) holds(op syntax.EmptyOp, pos int) bool {
	r1, r2 := rune(-1), rune(-1)
	if pos > 0 {
		r1, _ = utf8.DecodeLastRuneInString(m.t[:pos])
	}
	if pos < len(m.t) {
		r2, _ = utf8.DecodeRuneInString(m.t[pos:])
	}
	return syntax.EmptyOpContext(r1, r2)&op == op
}
