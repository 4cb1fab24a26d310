package secrets

import "regexp/syntax"

// A backtracking matcher with the same answers as Go's regexp, for the
// short stretches the gate leaves. Go's regexp runs programs of more than
// 500 instructions on its NFA, and gitleaks' counted classes
// ([\w.=-]{10,150}) make most rule programs that big: matching 20 bytes
// then costs microseconds. Here a repeat of one rune class is a single
// instruction that tries its counts in order, so the generic rule is a few
// dozen instructions. The search memoises (instruction, position) pairs,
// as Go's own backtracker does, so it is linear in program size times
// input length, and it reports the leftmost-first match and submatches
// Go's regexp documents. TestBacktrackMatchesRegexp and FuzzBacktrack hold
// it to that.

type bop uint8

const (
	bFail bop = iota
	bMatch
	bRune   // one rune of cls
	bLit    // the runes of lit
	bRun    // min to max runes of cls, greedy or lazy
	bSplit  // next, else alt
	bSave   // capture slot n
	bAssert // empty-width condition n
)

type binst struct {
	op       bop
	next     int
	alt      int
	n        int
	min, max int
	greedy   bool
	cls      *charClass
	lit      []litRune
}

type bprog struct {
	inst  []binst
	start int
	ncap  int // capture slots, 2 per group, group 0 included
	// first[pc]: the bytes a match from pc can consume first; empty[pc]:
	// it can reach the end consuming nothing. A branch whose first set
	// misses the next byte is not tried: gitleaks' allowlists are
	// alternations of dozens of words.
	first []byteSet
	empty []bool
}

// may reports whether a match from pc might start at pos.
func (p *bprog) may(pc int, t string, pos int) bool {
	return p.empty[pc] || pos < len(t) && p.first[pc].has(t[pos])
}

// firsts computes first and empty, to a fixed point (programs loop).
func (p *bprog) firsts() {
	p.first = make([]byteSet, len(p.inst))
	p.empty = make([]bool, len(p.inst))
	for changed := true; changed; {
		changed = false
		for pc := range p.inst {
			in := &p.inst[pc]
			f, e := p.first[pc], p.empty[pc]
			switch in.op {
			case bMatch:
				e = true
			case bRune:
				f.addClass(in.cls)
			case bLit:
				if len(in.lit) == 0 {
					f.or(&p.first[in.next])
					e = e || p.empty[in.next]
				} else {
					f.addRune(in.lit[0].r, in.lit[0].fold)
				}
			case bRun:
				f.addClass(in.cls)
				if in.min == 0 {
					f.or(&p.first[in.next])
					e = e || p.empty[in.next]
				}
			case bSplit:
				f.or(&p.first[in.next])
				f.or(&p.first[in.alt])
				e = e || p.empty[in.next] || p.empty[in.alt]
			case bSave, bAssert:
				f.or(&p.first[in.next])
				e = e || p.empty[in.next]
			}
			if f != p.first[pc] || e != p.empty[pc] {
				p.first[pc], p.empty[pc], changed = f, e, true
			}
		}
	}
}

// maxProg bounds the program; rules beyond it use Go's regexp only.
const maxProg = 4096

// compileBacktrack compiles a regex parsed with syntax.Perl.
func compileBacktrack(re *syntax.Regexp) (*bprog, bool) {
	p := &bprog{ncap: 2 * (re.MaxCap() + 1)}
	match := p.emit(binst{op: bMatch})
	start, ok := p.compile(re, match)
	if !ok || len(p.inst) > maxProg {
		return nil, false
	}
	p.start = start
	p.firsts()
	return p, true
}

func (p *bprog) emit(in binst) int {
	p.inst = append(p.inst, in)
	return len(p.inst) - 1
}

// compile emits re followed by the instruction at next and returns its
// entry: programs are built back to front.
func (p *bprog) compile(re *syntax.Regexp, next int) (int, bool) {
	if len(p.inst) > maxProg {
		return 0, false
	}
	greedy := re.Flags&syntax.NonGreedy == 0
	switch re.Op {
	case syntax.OpNoMatch:
		return p.emit(binst{op: bFail}), true
	case syntax.OpEmptyMatch:
		return next, true
	case syntax.OpLiteral:
		n := toNode(re)
		return p.emit(binst{op: bLit, lit: n.lit, next: next}), true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return p.emit(binst{op: bRune, cls: toNode(re).cls, next: next}), true
	case syntax.OpBeginLine:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyBeginLine), next: next}), true
	case syntax.OpEndLine:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyEndLine), next: next}), true
	case syntax.OpBeginText:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyBeginText), next: next}), true
	case syntax.OpEndText:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyEndText), next: next}), true
	case syntax.OpWordBoundary:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyWordBoundary), next: next}), true
	case syntax.OpNoWordBoundary:
		return p.emit(binst{op: bAssert, n: int(syntax.EmptyNoWordBoundary), next: next}), true
	case syntax.OpCapture:
		end := p.emit(binst{op: bSave, n: 2*re.Cap + 1, next: next})
		body, ok := p.compile(re.Sub[0], end)
		if !ok {
			return 0, false
		}
		return p.emit(binst{op: bSave, n: 2 * re.Cap, next: body}), true
	case syntax.OpConcat:
		for i := len(re.Sub) - 1; i >= 0; i-- {
			var ok bool
			if next, ok = p.compile(re.Sub[i], next); !ok {
				return 0, false
			}
		}
		return next, true
	case syntax.OpAlternate:
		entry, ok := p.compile(re.Sub[len(re.Sub)-1], next)
		for i := len(re.Sub) - 2; ok && i >= 0; i-- {
			var e int
			if e, ok = p.compile(re.Sub[i], next); ok {
				entry = p.emit(binst{op: bSplit, next: e, alt: entry})
			}
		}
		return entry, ok
	case syntax.OpQuest:
		body, ok := p.compile(re.Sub[0], next)
		return p.split(body, next, greedy), ok
	case syntax.OpStar, syntax.OpPlus:
		if cls := runeClass(re.Sub[0]); cls != nil {
			lo := 0
			if re.Op == syntax.OpPlus {
				lo = 1
			}
			return p.emit(binst{op: bRun, cls: cls, min: lo, max: -1, greedy: greedy, next: next}), true
		}
		if nullable(re.Sub[0]) {
			// Go compiles a loop over something that can match empty
			// specially (golang.org/issue/46123); leave such rules to
			// Go's regexp.
			return 0, false
		}
		// loop: split(body, next); body returns to loop.
		loop := p.emit(binst{op: bSplit})
		body, ok := p.compile(re.Sub[0], loop)
		if greedy {
			p.inst[loop].next, p.inst[loop].alt = body, next
		} else {
			p.inst[loop].next, p.inst[loop].alt = next, body
		}
		if re.Op == syntax.OpPlus {
			return body, ok
		}
		return loop, ok
	case syntax.OpRepeat:
		if cls := runeClass(re.Sub[0]); cls != nil {
			if re.Max == 0 {
				return next, true
			}
			return p.emit(binst{op: bRun, cls: cls, min: re.Min, max: re.Max, greedy: greedy, next: next}), true
		}
		// As Go expands it: x{2,5} is xx(x(x(x)?)?)?.
		return p.compile(re.Simplify(), next)
	}
	return 0, false
}

func (p *bprog) split(body, next int, greedy bool) int {
	if greedy {
		return p.emit(binst{op: bSplit, next: body, alt: next})
	}
	return p.emit(binst{op: bSplit, next: next, alt: body})
}

func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return false
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return true // empty match, assertions, star, quest
}

// runeClass is the class of a regex that matches exactly one rune.
func runeClass(re *syntax.Regexp) *charClass {
	switch re.Op {
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return toNode(re).cls
	case syntax.OpLiteral:
		if len(re.Rune) == 1 {
			return foldClass(litRune{r: re.Rune[0], fold: re.Flags&syntax.FoldCase != 0})
		}
	}
	return nil
}
