package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/agentguard/agentguard/pkg/inspect/evaluate"
	"github.com/agentguard/agentguard/pkg/inspect/injection"
	"github.com/agentguard/agentguard/pkg/inspect/normalize"
)

// example is one training sample as the model sees it: windows of
// hashed feature indices.
type example struct {
	idx     []uint32
	blocks  []injection.Block
	windows [][2]int
	label   float64
	hard    bool    // a hard negative (NotInject)
	weight  float64 // of its loss; 1 unless balanced by carrier (see fit)
	source  string
	fold    int
}

// hyper are the optimiser's settings.
type hyper struct {
	Epochs  int
	Rate    float64 // AdaGrad base learning rate
	L2      float64
	Seed    uint64
	NegAll  bool  // train on every window of a negative, not only its highest
	MinDF   int32 // least number of training texts a feature must be in
	Average bool  // average the epoch-end weights of the later half
}

// onlyTraining returns the training part of samples, and an error if a
// test sample would get through: the test part must never be trained on.
func onlyTraining(samples []evaluate.Sample) ([]evaluate.Sample, error) {
	var out []evaluate.Sample
	for _, s := range samples {
		if s.Split == evaluate.Train {
			out = append(out, s)
		}
	}
	for _, s := range out {
		if s.Split != evaluate.Train {
			return nil, fmt.Errorf("a %s sample of source %s reached training", s.Split, s.Source)
		}
	}
	return out, nil
}

// featurize turns samples into examples, in the order given, sample i
// in fold folds[i].
func featurize(f *injection.Featurizer, samples []evaluate.Sample, folds []int) []example {
	n := normalize.New(normalize.Options{})
	var r normalize.Result
	out := make([]example, 0, len(samples))
	for i, s := range samples {
		n.Into(&r, s.Text)
		blocks, idx := f.Featurize(&r, nil, nil)
		e := example{idx: idx, blocks: blocks, windows: injection.Windows(blocks, nil), source: s.Source, hard: s.HardNegative, weight: 1}
		if s.Positive {
			e.label = 1
		}
		e.fold = folds[i]
		out = append(out, e)
	}
	return out
}

// model is the weights being trained, in float64.
type model struct {
	cfg  injection.Features
	bias float64
	w    []float64
}

// logits returns the logit of each window of e.
func (m *model) logits(e *example, dst []float64) []float64 {
	dst = dst[:0]
	for _, win := range e.windows {
		var sum float64
		n := 0
		for k := win[0]; k < win[1]; k++ {
			b := e.blocks[k]
			for _, j := range e.idx[b.Lo:b.Hi] {
				sum += m.w[j]
			}
			n += b.Hi - b.Lo
		}
		dst = append(dst, m.bias+sum*m.cfg.Scale(n))
	}
	return dst
}

// score is the example's logit: its highest window, as in detection.
func (m *model) score(e *example, buf []float64) (float64, int, []float64) {
	buf = m.logits(e, buf)
	best, bi := m.bias, -1
	for i, z := range buf {
		if bi < 0 || z > best {
			best, bi = z, i
		}
	}
	return best, bi, buf
}

// fit trains logistic regression by AdaGrad on the highest-scoring
// window of each example (multiple-instance learning: a text is an
// attack when one of its windows is). Deterministic: a fixed seed
// shuffles a fixed order, and nothing iterates a map.
func fit(cfg injection.Features, train []*example, hp hyper) *model {
	m := &model{cfg: cfg, w: make([]float64, 1<<cfg.Bits)}
	g2 := make([]float64, len(m.w))
	var gb2 float64
	// Class weights: each class carries half the total.
	var pos float64
	for _, e := range train {
		pos += e.label
	}
	neg := float64(len(train)) - pos
	wPos, wNeg := float64(len(train))/(2*math.Max(pos, 1)), float64(len(train))/(2*math.Max(neg, 1))
	// The samples built on emails are mostly positive (an email with a
	// payload), so alone they teach that an email is an attack. Their
	// negatives (clean emails, emails with a benign line) are weighted up
	// until both sides weigh the same: then what tells them apart is the
	// payload, not the email.
	var ePos, eNeg float64
	for _, e := range train {
		if onEmail(e.source) {
			if e.label == 1 {
				ePos++
			} else {
				eNeg++
			}
		}
	}
	emailNegWeight := 1.0
	if eNeg > 0 && ePos > eNeg {
		emailNegWeight = ePos / eNeg
	}
	weightOf := func(e *example) float64 {
		if e.label == 0 && onEmail(e.source) {
			return e.weight * emailNegWeight
		}
		return e.weight
	}
	// Features of fewer than MinDF texts keep weight 0: AdaGrad gives a
	// feature seen once a full-size step, and such weights are noise that
	// unseen text picks up through hash collisions.
	df := make([]int32, len(m.w))
	last := make([]int32, len(m.w))
	for i := range last {
		last[i] = -1
	}
	for ei, e := range train {
		for _, j := range e.idx {
			if last[j] != int32(ei) {
				last[j] = int32(ei)
				df[j]++
			}
		}
	}
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(hp.Seed, hp.Seed^0x5DEECE66D))
	const eps = 1e-8
	// step takes one AdaGrad step on window wi of e, whose logit is z.
	step := func(e *example, wi int, z, weight float64) {
		g := (1/(1+math.Exp(-z)) - e.label) * weight
		win := e.windows[wi]
		n := 0
		for k := win[0]; k < win[1]; k++ {
			n += e.blocks[k].Hi - e.blocks[k].Lo
		}
		scale := cfg.Scale(n)
		for k := win[0]; k < win[1]; k++ {
			b := e.blocks[k]
			for _, j := range e.idx[b.Lo:b.Hi] {
				if df[j] < hp.MinDF {
					continue
				}
				gj := g*scale + hp.L2*m.w[j]
				g2[j] += gj * gj
				m.w[j] -= hp.Rate * gj / math.Sqrt(g2[j]+eps)
			}
		}
		gb2 += g * g
		m.bias -= hp.Rate * g / math.Sqrt(gb2+eps)
	}
	var buf []float64
	// With Average, the model is the mean of its states at the end of the
	// later half of the epochs: less noise from the order of the last
	// steps.
	var avg []float64
	var avgBias float64
	snaps := 0
	if hp.Average {
		avg = make([]float64, len(m.w))
	}
	for epoch := 0; epoch < hp.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, oi := range order {
			e := train[oi]
			if len(e.windows) == 0 {
				continue
			}
			if e.label == 0 && hp.NegAll {
				// Every window of a benign text is benign.
				buf = m.logits(e, buf)
				for wi, z := range buf {
					step(e, wi, z, wNeg*weightOf(e))
				}
				continue
			}
			var z float64
			var wi int
			z, wi, buf = m.score(e, buf)
			cw := wNeg
			if e.label == 1 {
				cw = wPos
			}
			step(e, wi, z, cw*weightOf(e))
		}
		if hp.Average && epoch >= hp.Epochs/2 {
			for j, x := range m.w {
				avg[j] += x
			}
			avgBias += m.bias
			snaps++
		}
	}
	if snaps > 0 {
		for j := range m.w {
			m.w[j] = avg[j] / float64(snaps)
		}
		m.bias = avgBias / float64(snaps)
	}
	return m
}

// onEmail reports whether a source's samples are built on a BIPIA email.
func onEmail(source string) bool {
	switch source {
	case evaluate.SourceBIPIAEmail, evaluate.SourceBIPIAIndirect,
		sourceAugmented + "email+line", sourceAugmented + "email+attack", sourceAugmented + "email+payload":
		return true
	}
	return false
}

// scored is one held-out example's probability.
type scored struct {
	p      float64
	label  float64
	hard   bool
	source string
}

// crossValidate trains on all folds but one and scores the one left out,
// for every fold; it scores the first n examples (the others are
// augmented, for training only), in order. It also returns the mean of
// the fold models: a linear model like them, whose scores the
// cross-validated threshold fits better than a model trained on all the
// data, which scores more boldly.
func crossValidate(cfg injection.Features, exs []example, n, folds int, hp hyper) ([]scored, *model) {
	out := make([]scored, n)
	mean := &model{cfg: cfg, w: make([]float64, 1<<cfg.Bits)}
	for k := 0; k < folds; k++ {
		var train []*example
		for i := range exs {
			if exs[i].fold != k {
				train = append(train, &exs[i])
			}
		}
		m := fit(cfg, train, hp)
		for j, x := range m.w {
			mean.w[j] += x / float64(folds)
		}
		mean.bias += m.bias / float64(folds)
		var buf []float64
		for i := range exs[:n] {
			if exs[i].fold == k {
				var z float64
				z, _, buf = m.score(&exs[i], buf)
				out[i] = scored{p: 1 / (1 + math.Exp(-z)), label: exs[i].label, hard: exs[i].hard, source: exs[i].source}
			}
		}
	}
	return out, mean
}

// chooseThreshold returns the lowest threshold (so the highest recall)
// at which at most maxFP of the negatives and maxHardFP of the hard
// negatives score at or above it. Candidates are midpoints between
// adjacent negative scores, so the result does not sit on a sample.
func chooseThreshold(s []scored, maxFP, maxHardFP float64) float64 {
	var neg, hard []float64
	for _, x := range s {
		if x.label == 0 {
			neg = append(neg, x.p)
			if x.hard {
				hard = append(hard, x.p)
			}
		}
	}
	sort.Float64s(neg)
	sort.Float64s(hard)
	// The k-th highest negative may be flagged when k/len <= maxFP.
	t := cut(neg, maxFP)
	if len(hard) > 0 {
		t = math.Max(t, cut(hard, maxHardFP))
	}
	return math.Min(math.Max(t, 0.01), 0.99)
}

// cut returns a threshold that flags at most frac of the sorted scores.
func cut(sorted []float64, frac float64) float64 {
	if len(sorted) == 0 {
		return 0.5
	}
	allowed := int(math.Floor(frac * float64(len(sorted))))
	i := len(sorted) - 1 - allowed // the highest score that must stay below
	if i < 0 {
		return 0.01
	}
	hi := 1.0
	if i+1 < len(sorted) {
		hi = sorted[i+1]
	}
	// Above sorted[i] even when it ties with sorted[i+1].
	return math.Max((sorted[i]+hi)/2, math.Nextafter(sorted[i], 2))
}
