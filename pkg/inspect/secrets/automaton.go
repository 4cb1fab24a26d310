package secrets

// automaton is an Aho-Corasick automaton over bytes, compiled to a dense
// DFA: one table load per input byte. ASCII letters fold to lower case in
// the byte-class table, so the text is matched as gitleaks matches its
// lower-cased copy without making that copy. It replaces gitleaks'
// github.com/BobuSumisu/aho-corasick, which walks a trie with failure
// links and needs the lower-cased copy first; BenchmarkAutomaton measures
// this one.
type automaton struct {
	class [256]uint8
	width int // byte classes: the length of a row
	// A state is the offset of its row. States that report something are
	// numbered last, so "reports" is one comparison with outStart. The
	// table is uint16 when it fits, to stay in cache.
	next16   []uint16
	next32   []uint32
	outStart int
	out      [][]int32 // by state number: pattern ids; flagID for a flag byte
	longest  int       // the longest pattern, in bytes
}

// flagID is reported for a flag byte (see newAutomaton).
const flagID = -1

// hit is one keyword occurrence: the pattern id and the offset just past
// its last byte.
type hit struct {
	kw  int32
	end int32
}

// newAutomaton compiles patterns, which must be lower case. Each byte in
// flag that no pattern uses makes the automaton report flagID where it
// occurs, at no cost to the scanning loop; the detector flags the lead
// bytes of the few non-ASCII runes that lower-case or case-fold to ASCII.
func newAutomaton(patterns []string, flag []byte) *automaton {
	a := &automaton{}
	nclass := 1 // class 0: bytes in no pattern
	for _, p := range patterns {
		a.longest = max(a.longest, len(p))
		for i := 0; i < len(p); i++ {
			if a.class[p[i]] == 0 {
				a.class[p[i]] = uint8(nclass)
				nclass++
			}
		}
	}
	for c := byte('A'); c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	flagClass := 0
	for _, b := range flag {
		if a.class[b] == 0 {
			if flagClass == 0 {
				flagClass = nclass
				nclass++
			}
			a.class[b] = uint8(flagClass)
		}
	}
	width := nclass
	a.width = width

	// The trie, by class.
	type tnode struct {
		child map[int]int
		fail  int
		out   []int32
	}
	nodes := []tnode{{child: map[int]int{}}}
	for id, p := range patterns {
		s := 0
		for i := 0; i < len(p); i++ {
			c := int(a.class[p[i]])
			n, ok := nodes[s].child[c]
			if !ok {
				n = len(nodes)
				nodes = append(nodes, tnode{child: map[int]int{}})
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	// Breadth first: failure links and inherited outputs, then the
	// transitions in the same order, so a failure state's are done.
	order := []int{0}
	for q := 0; q < len(order); q++ {
		s := order[q]
		if s != 0 {
			nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		}
		for c := 0; c < width; c++ {
			n, ok := nodes[s].child[c]
			if !ok {
				continue
			}
			if s != 0 {
				for f := nodes[s].fail; ; f = nodes[f].fail {
					if t, ok := nodes[f].child[c]; ok {
						nodes[n].fail = t
						break
					}
					if f == 0 {
						break
					}
				}
			}
			order = append(order, n)
		}
	}
	flagState := len(nodes)
	delta := make([]int, (len(nodes)+1)*width)
	for _, s := range order {
		for c := 0; c < width; c++ {
			t := 0
			if n, ok := nodes[s].child[c]; ok {
				t = n
			} else if s != 0 {
				t = delta[nodes[s].fail*width+c]
			}
			if flagClass != 0 && c == flagClass {
				t = flagState
			}
			delta[s*width+c] = t
		}
	}
	outs := make([][]int32, len(nodes)+1)
	for s := range nodes {
		outs[s] = nodes[s].out
	}
	if flagClass != 0 {
		// The flag state behaves as the root and reports flagID.
		copy(delta[flagState*width:(flagState+1)*width], delta[:width])
		outs[flagState] = []int32{flagID}
	} else {
		outs = outs[:len(nodes)]
	}
	// Renumber: silent states first (the root stays 0), reporting last.
	id := make([]int, len(outs))
	n := 0
	for s := range outs {
		if len(outs[s]) == 0 {
			id[s] = n
			n++
		}
	}
	a.outStart = n * width
	for s := range outs {
		if len(outs[s]) > 0 {
			id[s] = n
			n++
		}
	}
	a.out = make([][]int32, n)
	for s := range outs {
		a.out[id[s]] = outs[s]
	}
	size := n * width
	if size <= 1<<16 {
		a.next16 = make([]uint16, size)
	} else {
		a.next32 = make([]uint32, size)
	}
	for s := range outs {
		for c := 0; c < width; c++ {
			v := id[delta[s*width+c]] * width
			if a.next16 != nil {
				a.next16[id[s]*width+c] = uint16(v)
			} else {
				a.next32[id[s]*width+c] = uint32(v)
			}
		}
	}
	return a
}

// scan marks in seen (a bitset by pattern id) every pattern that occurs
// in text, and appends its occurrences to hits while there are fewer than
// limit; full reports that some were not appended, flagged that a flag
// byte occurs, wide that a byte outside ASCII does.
func (a *automaton) scan(text string, hits []hit, limit int, seen []uint64) (_ []hit, full, flagged, wide bool) {
	r := report{a: a, hits: hits, limit: limit, seen: seen}
	var or byte
	if a.next16 != nil {
		or = walk(a.next16, &a.class, uint16(a.outStart), text, a.longest, &r)
	} else {
		or = walk(a.next32, &a.class, uint32(a.outStart), text, a.longest, &r)
	}
	return r.hits, r.full, r.flagged, or >= 0x80
}

type report struct {
	a             *automaton
	hits          []hit
	limit         int
	seen          []uint64
	full, flagged bool
}

// walk runs the automaton over text. One walk is a chain of dependent
// table loads, one per byte, so the text is cut in four and walked in
// four chains at once, each starting longest-1 bytes early so a pattern
// that crosses a cut is still seen, and reporting only what ends in its
// own quarter.
func walk[T uint16 | uint32](next []T, class *[256]uint8, outStart T, text string, longest int, r *report) byte {
	const streams = 4
	n := len(text)
	warm := longest - 1
	if n < 64*streams || warm < 0 || warm > n/(2*streams) {
		return walk1(next, class, outStart, text, 0, 0, n, r)
	}
	// Quarter k reports ends in (cut[k], cut[k+1]] and starts reading at
	// cut[k]-warm; all four read m bytes in lock step, then each
	// finishes alone.
	var cut [streams + 1]int
	for k := 1; k < streams; k++ {
		cut[k] = k * n / streams
	}
	cut[streams] = n
	p0, p1, p2, p3 := 0, cut[1]-warm, cut[2]-warm, cut[3]-warm
	m := cut[1] - p0
	for k := 1; k < streams; k++ {
		m = min(m, cut[k+1]-(cut[k]-warm))
	}
	var s0, s1, s2, s3 T
	var or byte
	for i := 0; i < m; i++ {
		b0, b1, b2, b3 := text[p0+i], text[p1+i], text[p2+i], text[p3+i]
		or |= b0 | b1 | b2 | b3
		s0 = next[int(s0)+int(class[b0])]
		s1 = next[int(s1)+int(class[b1])]
		s2 = next[int(s2)+int(class[b2])]
		s3 = next[int(s3)+int(class[b3])]
		if s0 >= outStart || s1 >= outStart || s2 >= outStart || s3 >= outStart {
			if s0 >= outStart {
				r.add(int(s0), p0+i+1)
			}
			if s1 >= outStart && p1+i+1 > cut[1] {
				r.add(int(s1), p1+i+1)
			}
			if s2 >= outStart && p2+i+1 > cut[2] {
				r.add(int(s2), p2+i+1)
			}
			if s3 >= outStart && p3+i+1 > cut[3] {
				r.add(int(s3), p3+i+1)
			}
		}
	}
	or |= walk1(next, class, outStart, text, s0, p0+m, cut[1], r)
	or |= walk1(next, class, outStart, text, s1, p1+m, cut[2], r)
	or |= walk1(next, class, outStart, text, s2, p2+m, cut[3], r)
	or |= walk1(next, class, outStart, text, s3, p3+m, cut[4], r)
	return or
}

// walk1 continues one walk in state s over text[from:to].
func walk1[T uint16 | uint32](next []T, class *[256]uint8, outStart T, text string, s T, from, to int, r *report) byte {
	var or byte
	for i := from; i < to; i++ {
		b := text[i]
		or |= b
		s = next[int(s)+int(class[b])]
		if s >= outStart {
			r.add(int(s), i+1)
		}
	}
	return or
}

func (r *report) add(s, end int) {
	for _, id := range r.a.out[s/r.a.width] {
		if id == flagID {
			r.flagged = true
			continue
		}
		r.seen[id>>6] |= 1 << (id & 63)
		if len(r.hits) >= r.limit {
			r.full = true
			continue
		}
		r.hits = append(r.hits, hit{kw: id, end: int32(end)})
	}
}

// contains reports whether any pattern occurs in s.
func (a *automaton) contains(s string) bool {
	st := 0
	for i := 0; i < len(s); i++ {
		if a.next16 != nil {
			st = int(a.next16[st+int(a.class[s[i]])])
		} else {
			st = int(a.next32[st+int(a.class[s[i]])])
		}
		if st >= a.outStart {
			for _, id := range a.out[st/a.width] {
				if id != flagID {
					return true
				}
			}
		}
	}
	return false
}
