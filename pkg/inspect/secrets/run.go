package secrets

import "unicode/utf8"

// Steps over repeats of a character class: the bulk of every secret
// regex, and of the gate's time.

// runFwd steps over lo to hi (hi < 0: no limit) runes of class c. Starts
// in one run of class runes share the run's end r, so for ASCII the
// reachable set from starts p..top is one interval, found with one scan.
func (s *sim) runFwd(c *charClass, lo, hi int, in []ival) []ival {
	t := s.text
	start := len(s.arena)
	for _, iv := range in {
		if lo == 0 && s.ascii(iv) {
			// Every start reaches at most as far as the last one does
			// (a run through it ends where its run ends), and each
			// reaches itself: one walk.
			s.add(iv.lo, s.reachFwd(c, iv.hi, hi))
			continue
		}
		p := iv.lo
		for p <= iv.hi {
			stop := s.limHi
			if hi >= 0 && iv.hi+hi < stop {
				stop = iv.hi + hi
			}
			q := p
			for q < stop && t[q] < utf8.RuneSelf && c.hasASCII(t[q]) {
				q++
			}
			s.work += q - p + 1
			if q < stop && t[q] >= utf8.RuneSelf {
				p = s.runWideFwd(c, lo, hi, iv, p)
				continue
			}
			if q == s.limHi && q < len(t) && s.classAt(c, q) {
				s.overflow = true
			}
			top := min(iv.hi, q)
			if xhi := min(top, q-lo); xhi >= p {
				end := q
				if hi >= 0 {
					end = min(xhi+hi, q)
				}
				s.add(p+lo, end)
			}
			p = top + 1
		}
	}
	return s.normalize(start)
}

// runWideFwd is runFwd over a run holding multi-byte runes: counts are in
// runes, so it lists the run's rune boundaries. Positions inside a rune
// are not starts (Go's regexp never stands there) and are skipped.
func (s *sim) runWideFwd(c *charClass, lo, hi int, iv ival, p int) int {
	t := s.text
	b := s.bnd[:0]
	last := -1 // index in b of the last start (<= iv.hi)
	x := p
	for x < s.limHi {
		if x <= iv.hi {
			last = len(b)
		} else if hi >= 0 && len(b)-last > hi {
			break
		}
		r, w := rune(t[x]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(t[x:])
		}
		if !c.has(r) {
			break
		}
		b = append(b, x)
		x += w
	}
	if x >= s.limHi {
		if x < len(t) {
			s.overflow = true
		}
		x = s.limHi
	}
	if x <= iv.hi {
		last = len(b)
	}
	b = append(b, x)
	s.bnd = b
	s.work += len(b)
	k := len(b) - 1
	if last >= 0 && lo <= k {
		imax := min(last, k-lo)
		e := k
		if hi >= 0 {
			e = min(imax+hi, k)
		}
		s.add(b[lo], b[e])
	}
	return min(iv.hi, x) + 1
}

// runBwd is runFwd reading backward.
func (s *sim) runBwd(c *charClass, lo, hi int, in []ival) []ival {
	t := s.text
	start := len(s.arena)
	for j := len(in) - 1; j >= 0; j-- {
		iv := in[j]
		if lo == 0 && s.ascii(iv) {
			s.add(s.reachBwd(c, iv.lo, hi), iv.hi)
			continue
		}
		p := iv.hi
		for p >= iv.lo {
			stop := s.limLo
			if hi >= 0 && iv.lo-hi > stop {
				stop = iv.lo - hi
			}
			q := p
			for q > stop && t[q-1] < utf8.RuneSelf && c.hasASCII(t[q-1]) {
				q--
			}
			s.work += p - q + 1
			if q > stop && t[q-1] >= utf8.RuneSelf {
				p = s.runWideBwd(c, lo, hi, iv, p)
				continue
			}
			if q == s.limLo && q > 0 && s.classBefore(c, q) {
				s.overflow = true
			}
			bot := max(iv.lo, q)
			if xlo := max(bot, q+lo); xlo <= p {
				b := q
				if hi >= 0 {
					b = max(xlo-hi, q)
				}
				s.add(b, p-lo)
			}
			p = bot - 1
		}
	}
	return s.normalize(start)
}

func (s *sim) runWideBwd(c *charClass, lo, hi int, iv ival, p int) int {
	t := s.text
	b := s.bnd[:0]
	last := -1
	x := p
	for x > s.limLo {
		if x >= iv.lo {
			last = len(b)
		} else if hi >= 0 && len(b)-last > hi {
			break
		}
		r, w := rune(t[x-1]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeLastRuneInString(t[:x])
		}
		if !c.has(r) {
			break
		}
		b = append(b, x)
		x -= w
	}
	if x <= s.limLo {
		if x > 0 {
			s.overflow = true
		}
		x = s.limLo
	}
	if x >= iv.lo {
		last = len(b)
	}
	b = append(b, x)
	s.bnd = b
	s.work += len(b)
	k := len(b) - 1
	if last >= 0 && lo <= k {
		imax := min(last, k-lo)
		e := k
		if hi >= 0 {
			e = min(imax+hi, k)
		}
		s.add(b[e], b[lo])
	}
	return max(iv.lo, x) - 1
}

// ascii reports that every position in iv is a rune boundary (its byte
// is ASCII, or it is the end of the text).
func (s *sim) ascii(iv ival) bool {
	if s.allASCII {
		return true
	}
	t := s.text
	for p := iv.lo; p <= iv.hi && p < len(t); p++ {
		if t[p] >= utf8.RuneSelf {
			return false
		}
	}
	s.work += iv.hi - iv.lo + 1
	return true
}

// reachFwd is the position after at most hi (hi < 0: any number of)
// runes of c from p.
func (s *sim) reachFwd(c *charClass, p, hi int) int {
	t := s.text
	for n := 0; hi < 0 || n < hi; n++ {
		if p >= s.limHi {
			if p < len(t) && s.classAt(c, p) {
				s.overflow = true
			}
			return s.limHi
		}
		r, w := rune(t[p]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(t[p:])
		}
		if !c.has(r) {
			break
		}
		p += w
		s.work++
	}
	return min(p, s.limHi)
}

// reachBwd is reachFwd reading backward.
func (s *sim) reachBwd(c *charClass, p, hi int) int {
	t := s.text
	for n := 0; hi < 0 || n < hi; n++ {
		if p <= s.limLo {
			if p > 0 && s.classBefore(c, p) {
				s.overflow = true
			}
			return s.limLo
		}
		r, w := rune(t[p-1]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeLastRuneInString(t[:p])
		}
		if !c.has(r) {
			break
		}
		p -= w
		s.work++
	}
	return max(p, s.limLo)
}

func (s *sim) classAt(c *charClass, p int) bool {
	r, _ := utf8.DecodeRuneInString(s.text[p:])
	return c.has(r)
}

func (s *sim) classBefore(c *charClass, p int) bool {
	r, _ := utf8.DecodeLastRuneInString(s.text[:p])
	return c.has(r)
}
