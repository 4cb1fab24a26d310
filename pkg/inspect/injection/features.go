package injection

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/agentguard/agentguard/pkg/inspect/normalize"
)

// Features is the feature configuration a model was trained with; it is
// stored in the model header, so a detector always scores with the
// features its weights belong to.
type Features struct {
	// Bits is log2 of the weight table size (hashed features).
	Bits int `json:"bits"`
	// WindowWords is the words per scored window; windows overlap by half.
	WindowWords int `json:"window_words"`
	// Bigrams adds a feature per pair of adjacent words.
	Bigrams bool `json:"bigrams"`
	// Prefixes adds a feature per word's first five bytes, so misspelt and
	// inflected forms share weight ("instructions", "instrctions").
	Prefixes bool `json:"prefixes"`
	// LengthNorm is the exponent e in logit = bias + sum(w) / n^e, n the
	// window's feature count.
	LengthNorm float64 `json:"length_norm"`
}

// DefaultFeatures is the configuration the trainer uses unless told
// otherwise.
func DefaultFeatures() Features {
	return Features{Bits: 16, WindowWords: 64, Bigrams: true, Prefixes: true, LengthNorm: 0.5}
}

func (f Features) validate() error {
	switch {
	case f.Bits < 10 || f.Bits > 24:
		return fmt.Errorf("bits %d outside [10,24]", f.Bits)
	case f.WindowWords < 8 || f.WindowWords > 4096:
		return fmt.Errorf("window_words %d outside [8,4096]", f.WindowWords)
	case f.LengthNorm < 0 || f.LengthNorm > 1 || math.IsNaN(f.LengthNorm):
		return fmt.Errorf("length_norm %v outside [0,1]", f.LengthNorm)
	}
	return nil
}

// Block is half a window: Words words of one segment of the normalised
// text, with their feature indices Feat[Lo:Hi] in the Featurizer's
// output. A window is one block or two adjacent blocks of a segment.
type Block struct {
	Seg        int // index in normalize.Result.Segments
	Start, End int // byte span in normalize.Result.Text
	Words      int
	Lo, Hi     int
	Signals    Signals
	// Sum is the block's sum of weights, set by Score (not Featurize,
	// whose Lo and Hi index the feature indices instead).
	Sum float32
}

// Featurizer turns normalised text into blocks of hashed feature
// indices. It is immutable and safe for concurrent use.
type Featurizer struct {
	cfg     Features
	shift   uint
	half    int
	signals signalTable
	sigIdx  [numSignals]uint32 // feature index of each signal
	kind    [256]uint8
}

// NewFeaturizer checks cfg and builds a Featurizer.
func NewFeaturizer(cfg Features) (*Featurizer, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("injection: features: %w", err)
	}
	f := &Featurizer{cfg: cfg, shift: uint(64 - cfg.Bits), half: cfg.WindowWords / 2}
	f.signals = newSignalTable()
	f.kind = byteKinds()
	for i := range f.sigIdx {
		f.sigIdx[i] = f.index(hashString("\x00signal\x00"+signalNames[i]) ^ seedSignal)
	}
	return f, nil
}

// Config returns the configuration f was built with.
func (f *Featurizer) Config() Features { return f.cfg }

// Seeds keep the feature kinds apart in the one hashed table.
const (
	seedUni    = 0x243F6A8885A308D3
	seedBi     = 0x13198A2E03707344
	seedPrefix = 0xA4093822299F31D0
	seedSignal = 0x082EFA98EC4E6C89
	seedBOS    = 0x452821E638D01377 // the "word" before a sentence's first
	mulA       = 0x9E3779B97F4A7C15
	mulB       = 0xBF58476D1CE4E5B9
	mulB5      = (5 * mulB) % (1 << 64) // wordHash of a 5-byte word starts here
)

// wordHash hashes a word eight bytes at a time: words are short, so this
// is one or two multiplications where a byte-wise hash takes one a byte.
func wordHash(b []byte) uint64 {
	h := uint64(len(b)) * mulB
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * mulA
		h ^= h >> 32
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for k := len(b) - 1; k >= 0; k-- {
			t = t<<8 | uint64(b[k])
		}
		h = (h ^ t) * mulA
		h ^= h >> 32
	}
	return h
}

func hashString(s string) uint64 { return wordHash([]byte(s)) }

// index maps a feature's hash to its slot in the weight table.
func (f *Featurizer) index(h uint64) uint32 { return uint32((h * mulA) >> f.shift) }

// Byte kinds for the tokenizer, on lowercased normalised text.
const (
	kSep  = iota // ends a word
	kWord        // part of a word (ASCII letters, digits, '_', non-CJK UTF-8)
	kSkip        // apostrophe: dropped inside words ("don't" = "dont")
	kStop        // sentence end: the next word starts a sentence
	kIdeo        // lead byte of a CJK or kana rune: a word of its own
)

// byteKinds classifies bytes for the tokenizer.
func byteKinds() (k [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c >= 'A' && c <= 'Z':
			k[c] = kWord
		case c == '\'':
			k[c] = kSkip
		case c == '.', c == '!', c == '?', c == ':', c == ';', c == '\n':
			k[c] = kStop
		case c >= 0xE3 && c <= 0xE9: // U+3000..U+9FFF
			k[c] = kIdeo
		case c >= 0x80:
			k[c] = kWord
		}
	}
	return k
}

// Featurize appends to idx the feature indices of r's text and returns
// the blocks, appended to blocks. Scratch slices are the caller's so
// scanning allocates nothing in steady state.
func (f *Featurizer) Featurize(r *normalize.Result, blocks []Block, idx []uint32) ([]Block, []uint32) {
	s := sink{idx: idx}
	for si, seg := range r.Segments {
		blocks = f.segment(r.Text, si, seg.Start, seg.End, blocks, &s)
	}
	return blocks, s.idx
}

// Score is Featurize for detection: it sums each block's weights (a
// table of 2^Bits) as it goes instead of storing indices. Lo and Hi
// then count features, so Hi-Lo is a block's feature count.
func (f *Featurizer) Score(r *normalize.Result, weights []float32, blocks []Block) []Block {
	s := sink{w: weights[:1<<f.cfg.Bits]}
	for si, seg := range r.Segments {
		blocks = f.segment(r.Text, si, seg.Start, seg.End, blocks, &s)
	}
	return blocks
}

// sink takes the features of one text: their indices, or the sum of
// their weights.
type sink struct {
	idx []uint32
	w   []float32 // nil: keep indices
	n   int       // features so far
	sum float32   // of the current block
}

func (s *sink) add(j uint32) {
	if s.w != nil {
		s.sum += s.w[j]
	} else {
		s.idx = append(s.idx, j)
	}
	s.n++
}

// close ends block b.
func (s *sink) close(b *Block) {
	b.Hi, b.Sum = s.n, s.sum
	s.sum = 0
}

// segment featurizes text[start:end], segment si.
func (f *Featurizer) segment(text []byte, si, start, end int, blocks []Block, idx *sink) []Block {
	cur := Block{Seg: si, Start: -1, Lo: idx.n}
	var ring sigRing
	var word [64]byte // a word with its apostrophes dropped
	prev := uint64(seedBOS)
	bigrams, prefixes := f.cfg.Bigrams, f.cfg.Prefixes
	kind := &f.kind
	for i := start; i < end; {
		k := kind[text[i]]
		if k != kWord && k != kIdeo {
			if k == kStop {
				prev = seedBOS
			}
			i++
			continue
		}
		ws := i
		var h, pre uint64 // the word's hash, and its first five bytes' (if longer)
		n := 0            // its length
		if k == kIdeo {
			i = min(i+3, end)
			h, n = wordHash(text[ws:i]), i-ws
		} else {
			for i < end && kind[text[i]] == kWord {
				i++
			}
			n = i - ws
			switch {
			case i+1 < end && text[i] == '\'' && kind[text[i+1]] == kWord:
				// An apostrophe inside a word: hash it without.
				w := word[:0]
				for i < end && len(w) < len(word) {
					if c := text[i]; kind[c] == kWord || c == '\'' && i+1 < end && kind[text[i+1]] == kWord {
						if c != '\'' {
							w = append(w, c)
						}
						i++
						continue
					}
					break
				}
				for i < end && kind[text[i]] == kWord { // beyond the buffer
					i++
				}
				h, n = wordHash(w), len(w)
				if n > 5 {
					pre = wordHash(w[:5])
				}
			case n <= 8 && ws+8 <= len(text):
				// The common case, inlined: one load, one multiplication.
				t := binary.LittleEndian.Uint64(text[ws:])
				h = (uint64(n)*mulB ^ t&(1<<(8*n)-1)) * mulA
				h ^= h >> 32
				if n > 5 {
					pre = (mulB5 ^ t&0xFFFFFFFFFF) * mulA
					pre ^= pre >> 32
				}
			default:
				h = wordHash(text[ws:i])
				if n > 5 {
					pre = wordHash(text[ws : ws+5])
				}
			}
		}
		if cur.Start < 0 {
			cur.Start = ws
		}
		idx.add(f.index(h ^ seedUni))
		if bigrams {
			idx.add(f.index(prev*mulB ^ h ^ seedBi))
		}
		if prefixes && n > 5 {
			idx.add(f.index(pre ^ seedPrefix))
		}
		prev = h
		if cls := f.signals.lookup(h); cls != 0 {
			if s := ring.push(cls, text, start, ws, i); s != 0 {
				cur.Signals |= s
				for b := Signal(0); b < numSignals; b++ {
					if s&(1<<b) != 0 {
						idx.add(f.sigIdx[b])
					}
				}
			}
		} else {
			ring.skip()
		}
		cur.End = i
		if cur.Words++; cur.Words == f.half {
			idx.close(&cur)
			blocks = append(blocks, cur)
			cur = Block{Seg: si, Start: -1, Lo: idx.n}
		}
	}
	if cur.Words > 0 {
		idx.close(&cur)
		blocks = append(blocks, cur)
	}
	return blocks
}

// Windows appends the windows over blocks, as block ranges [lo, hi): one
// block alone when its segment has one, else each pair of adjacent
// blocks of a segment.
func Windows(blocks []Block, dst [][2]int) [][2]int {
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && blocks[j].Seg == blocks[i].Seg {
			j++
		}
		if j-i == 1 {
			dst = append(dst, [2]int{i, j})
		}
		for k := i; k+1 < j; k++ {
			dst = append(dst, [2]int{k, k + 2})
		}
		i = j
	}
	return dst
}

// Scale returns the factor a window's weight sum is multiplied by: one
// over its feature count to the power LengthNorm.
func (f Features) Scale(features int) float64 {
	if features <= 0 {
		return 0
	}
	switch f.LengthNorm {
	case 0:
		return 1
	case 0.5:
		return 1 / math.Sqrt(float64(features))
	case 1:
		return 1 / float64(features)
	}
	return math.Pow(float64(features), -f.LengthNorm)
}
