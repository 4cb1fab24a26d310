// Package injection detects prompt injection and jailbreaks in the texts
// of a message: direct attacks in a user's prompt and indirect ones
// hidden in a tool result or fetched document.
//
// Text is normalised first (package normalize), so spacing, case,
// look-alike letters, invisible characters and base64/hex/binary/tag
// encodings do not hide an attack. A logistic-regression model over
// hashed word, word-pair and word-prefix features, plus curated phrase
// signals (signals.go) as extra features, scores overlapping windows of
// WindowWords words (stride half a window); the highest window decides,
// so one injected paragraph in a long benign document is still found.
// A window holding a chat template's special token (<|im_start|>,
// [INST], <<SYS>>) is reported whatever the model says. The model is trained by cmd/train-injection on the training split of
// the public corpora and embedded in the binary.
package injection

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/normalize"
)

// Name is the detector's name in findings and configuration.
const Name = "injection"

// RuleModel is the rule of a finding whose window holds no signal.
const RuleModel = "model"

// Options configure a Detector; the zero value takes the defaults.
type Options struct {
	// Threshold is the probability at or above which a window is
	// reported; 0 means the model's own (chosen by the trainer for at
	// most 3% false positives in cross-validation).
	Threshold float64
	// Model is the model to score with; nil means the embedded one.
	Model *Model
	// Normalizer, nil means normalize.New with default options.
	Normalizer *normalize.Normalizer
	// MaxFindings caps the findings per text; 0 means 8.
	MaxFindings int
}

// Detector is the prompt-injection detector. Immutable after New and
// safe for concurrent use.
type Detector struct {
	model     *Model
	feat      *Featurizer
	norm      *normalize.Normalizer
	threshold float64
	logitCut  float64 // the threshold as a logit
	maxFind   int
	pool      sync.Pool // *scratch
}

var _ inspect.Detector = (*Detector)(nil)

// scratch is the per-scan memory, pooled.
type scratch struct {
	res     normalize.Result
	blocks  []Block
	sums    []float64
	windows [][2]int
}

// New builds a Detector.
func New(opts Options) (*Detector, error) {
	m := opts.Model
	if m == nil {
		var err error
		if m, err = DefaultModel(); err != nil {
			return nil, err
		}
	}
	feat, err := NewFeaturizer(m.header.Features)
	if err != nil {
		return nil, err
	}
	d := &Detector{model: m, feat: feat, norm: opts.Normalizer, threshold: opts.Threshold, maxFind: opts.MaxFindings}
	if d.norm == nil {
		d.norm = normalize.New(normalize.Options{})
	}
	if d.threshold == 0 {
		d.threshold = m.header.Threshold
	}
	if !(d.threshold > 0 && d.threshold < 1) {
		return nil, fmt.Errorf("injection: threshold %v outside (0,1)", d.threshold)
	}
	d.logitCut = math.Log(d.threshold / (1 - d.threshold))
	if d.maxFind <= 0 {
		d.maxFind = 8
	}
	d.pool.New = func() any { return new(scratch) }
	return d, nil
}

// Name implements inspect.Detector.
func (d *Detector) Name() string { return Name }

// Threshold returns the probability at or above which a window is
// reported.
func (d *Detector) Threshold() float64 { return d.threshold }

// Scan implements inspect.Detector.
func (d *Detector) Scan(ctx context.Context, texts []inspect.Text, emit func(inspect.Finding)) error {
	s := d.pool.Get().(*scratch)
	defer d.put(s)
	for ti, t := range texts {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.score(s, t.Value)
		d.report(s, ti, emit)
	}
	return nil
}

// Score returns the highest window probability of text and the window's
// span in it; evaluation and the trainer's tests use it.
func (d *Detector) Score(text string) (p float64, start, end int) {
	s := d.pool.Get().(*scratch)
	defer d.put(s)
	d.score(s, text)
	best, bi := math.Inf(-1), -1
	for i := range s.windows {
		if s.sums[i] > best {
			best, bi = s.sums[i], i
		}
	}
	if bi < 0 {
		return sigmoid(float64(d.model.bias)), 0, 0
	}
	start, end = d.span(s, s.windows[bi])
	return sigmoid(best), start, end
}

// put returns s to the pool unless one huge text grew it: the pool
// should not pin megabytes after a rare large body.
func (d *Detector) put(s *scratch) {
	if cap(s.res.Text) <= 1<<20 {
		d.pool.Put(s)
	}
}

// score normalises and featurizes text and leaves each window's logit in
// s.sums[i] for s.windows[i].
func (d *Detector) score(s *scratch, text string) {
	d.norm.Into(&s.res, text)
	s.blocks = d.feat.Score(&s.res, d.model.weights, s.blocks[:0])
	s.windows = Windows(s.blocks, s.windows[:0])
	s.sums = s.sums[:0]
	for _, b := range s.blocks {
		s.sums = append(s.sums, float64(b.Sum))
	}
	bias := float64(d.model.bias)
	cfg := d.feat.cfg
	for i, win := range s.windows {
		var sum float64
		n := 0
		var sig Signals
		for k := win[0]; k < win[1]; k++ {
			sum += s.sums[k]
			n += s.blocks[k].Hi - s.blocks[k].Lo
			sig |= s.blocks[k].Signals
		}
		if sig&(1<<SignalSpecialToken) != 0 {
			s.sums[i] = math.Inf(1) // decisive: see SignalSpecialToken
			continue
		}
		// In place: window i starts at block i or later, so the block
		// sums still to be read are not yet overwritten.
		s.sums[i] = bias + sum*cfg.Scale(n)
	}
	s.sums = s.sums[:len(s.windows)]
}

// report emits one finding per run of overlapping windows at or above
// the threshold, the highest-scoring first when there are too many.
func (d *Detector) report(s *scratch, ti int, emit func(inspect.Finding)) {
	type run struct {
		lo, hi int // windows
		best   float64
		sig    Signals
	}
	var runs []run
	for i, win := range s.windows {
		var sig Signals
		for k := win[0]; k < win[1]; k++ {
			sig |= s.blocks[k].Signals
		}
		if s.sums[i] < d.logitCut {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].hi == i && s.windows[i-1][1] > win[0] {
			r := &runs[n-1]
			r.hi, r.best, r.sig = i+1, max(r.best, s.sums[i]), r.sig|sig
			continue
		}
		runs = append(runs, run{lo: i, hi: i + 1, best: s.sums[i], sig: sig})
	}
	for len(runs) > d.maxFind { // drop the weakest
		weakest := 0
		for i := range runs {
			if runs[i].best < runs[weakest].best {
				weakest = i
			}
		}
		runs = append(runs[:weakest], runs[weakest+1:]...)
	}
	for _, r := range runs {
		start, _ := d.span(s, s.windows[r.lo])
		_, end := d.span(s, s.windows[r.hi-1])
		p := sigmoid(r.best)
		rule := RuleModel
		if sig, ok := r.sig.First(); ok {
			rule = sig.String()
		}
		emit(inspect.Finding{Rule: rule, Severity: severity(p), Text: ti, Start: start, End: end, Score: p})
	}
}

// span maps a window to its byte span in the original text.
func (d *Detector) span(s *scratch, win [2]int) (int, int) {
	a, b := s.blocks[win[0]], s.blocks[win[1]-1]
	return s.res.Source(a.Start, b.End)
}

// severity maps a window's probability to a Severity: at or above 0.98
// Critical, 0.9 High, 0.7 Medium, below that (but at or above the
// threshold) Low.
func severity(p float64) inspect.Severity {
	switch {
	case p >= 0.98:
		return inspect.Critical
	case p >= 0.9:
		return inspect.High
	case p >= 0.7:
		return inspect.Medium
	}
	return inspect.Low
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
