package normalize

import "sort"

// Segment is one part of Result.Text: the normalised input itself
// (Segments[0], Encoding Plain) or a decoded payload found in it.
type Segment struct {
	Start, End       int // in Result.Text
	SrcStart, SrcEnd int // the input bytes it came from
	Encoding         Encoding
}

// Result is normalised text with its map back to the input. Reuse one
// Result across calls (Normalizer.Into) to avoid allocating; it is not
// safe for concurrent use.
type Result struct {
	// Text is Segments[0] (the normalised input) followed by each decoded
	// segment, every segment after the first preceded by '\n'.
	Text     []byte
	Segments []Segment

	marks   []mark // where the output→input offset changes, in segment 0
	runs    []run  // candidate encoded runs of the segment being built
	tags    []byte // decoded tag characters
	tagSpan [2]int
	work    []pending
	scratch []byte // decoded bytes
	in      []byte // encoded bytes being decoded
}

// mark says: from output offset out on, input offset = in + (o - out).
type mark struct{ out, in int }

type run struct{ start, end int }

type pending struct {
	text             string
	srcStart, srcEnd int
	enc              Encoding
	depth            int
}

// Source maps a span of r.Text back to a span of the input. Spans inside
// a decoded segment map to the whole encoded run they came from; spans in
// segment 0 map exactly at character boundaries.
func (r *Result) Source(start, end int) (int, int) {
	if len(r.Segments) == 0 {
		return 0, 0
	}
	for _, s := range r.Segments[1:] {
		if start >= s.Start-1 && start <= s.End {
			return s.SrcStart, s.SrcEnd
		}
	}
	main := r.Segments[0]
	start = min(max(start, 0), main.End)
	end = min(max(end, start), main.End)
	return r.srcOffset(start), r.srcOffset(end)
}

func (r *Result) srcOffset(o int) int {
	limit := r.Segments[0].SrcEnd
	if o >= r.Segments[0].End {
		return limit
	}
	i := sort.Search(len(r.marks), func(i int) bool { return r.marks[i].out > o }) - 1
	if i < 0 {
		return min(o, limit)
	}
	in := r.marks[i].in + o - r.marks[i].out
	if i+1 < len(r.marks) {
		in = min(in, r.marks[i+1].in)
	}
	return min(in, limit)
}
