// Package evaluate measures detectors against the labelled public corpora
// in ../shared/corpora: it loads samples, splits them into a fixed training
// and test part, and scores a detector's findings as precision, recall and
// F1 per detector and per source. `make eval` prints its tables; the
// injection model's trainer reads only the training part.
package evaluate

import (
	"crypto/sha256"
	"encoding/binary"
)

// Split is the part of the corpus a sample belongs to.
type Split int

// Splits. The test part is never used for training.
const (
	Train Split = iota
	Test
)

func (s Split) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// testPercent of every source goes to the test part.
const testPercent = 30

// SplitOf places a sample by its source and a hash of its text, so the
// split is the same on every machine and every run, and a sample keeps its
// part when others are added or removed.
func SplitOf(source, text string) Split {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var sum [sha256.Size]byte
	if binary.BigEndian.Uint64(h.Sum(sum[:0]))%100 < testPercent {
		return Test
	}
	return Train
}

// Sample is one labelled text.
type Sample struct {
	Source string // the corpus file or upstream project: "gitleaks", "presidio-synth"
	Group  string // a finer grouping within the source: rule id, category, entity type
	Text   string
	// Positive: the detector should report something in Text (for Kind,
	// when set).
	Positive bool
	// Kind, when set, is the rule or entity a finding must carry to count:
	// a negative with a Kind is a negative for that kind only (a gitleaks
	// fp sample for one rule may be a true secret of another kind).
	Kind string
	// HardNegative marks benign samples built to trip detectors
	// (NotInject); their false-positive rate is reported on its own.
	HardNegative bool
	Split        Split
}
