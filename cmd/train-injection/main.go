// Command train-injection trains the prompt-injection model embedded by
// pkg/inspect/injection, from the training split of the public corpora
// only, and writes its two files:
//
//	go run ./cmd/train-injection -corpora ../shared/corpora -out pkg/inspect/injection/model
//
// Training is deterministic: the same corpora and flags give
// byte-identical weights. The default threshold is chosen by k-fold
// cross-validation on the training split for at most -max-fp false
// positives (and -max-hard-fp on the NotInject hard negatives).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/agentguard/agentguard/pkg/inspect/evaluate"
	"github.com/agentguard/agentguard/pkg/inspect/injection"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "train-injection:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	features  injection.Features
	hyper     hyper
	folds     int
	maxFP     float64
	maxHardFP float64
	date      string
	augment   bool
	bag       bool
	mix       int
	errors    int
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("train-injection", flag.ContinueOnError)
	corpora := fs.String("corpora", "../shared/corpora", "directory of the public corpora")
	out := fs.String("out", "pkg/inspect/injection/model", "directory to write model.json and weights.bin to")
	o := options{features: injection.DefaultFeatures(), hyper: hyper{Epochs: 12, Rate: 0.1, L2: 1e-6, Seed: 1, MinDF: 2}}
	fs.IntVar(&o.features.Bits, "bits", o.features.Bits, "log2 of the weight table size")
	fs.IntVar(&o.features.WindowWords, "window", o.features.WindowWords, "words per scored window")
	fs.BoolVar(&o.features.Bigrams, "bigrams", o.features.Bigrams, "word-pair features")
	fs.BoolVar(&o.features.Prefixes, "prefixes", o.features.Prefixes, "word-prefix features")
	fs.Float64Var(&o.features.LengthNorm, "length-norm", o.features.LengthNorm, "window sum divided by features^this")
	fs.IntVar(&o.hyper.Epochs, "epochs", o.hyper.Epochs, "passes over the training data")
	fs.Float64Var(&o.hyper.Rate, "rate", o.hyper.Rate, "AdaGrad learning rate")
	fs.Float64Var(&o.hyper.L2, "l2", o.hyper.L2, "L2 penalty")
	fs.Func("min-df", "least number of training texts a trained feature occurs in (default 2)", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		o.hyper.MinDF = int32(n)
		return err
	})
	fs.BoolVar(&o.hyper.Average, "average", o.hyper.Average, "average the weights of the later epochs")
	fs.BoolVar(&o.hyper.NegAll, "neg-all", o.hyper.NegAll, "train on every window of a negative")
	fs.Uint64Var(&o.hyper.Seed, "seed", o.hyper.Seed, "shuffling seed")
	fs.BoolVar(&o.augment, "augment", true, "add samples built from training emails (see augment)")
	fs.BoolVar(&o.bag, "bag", true, "ship the mean of the cross-validation fold models (else one model fitted on all the training data)")
	fs.IntVar(&o.mix, "mix", 3, "with -augment: more training emails each BIPIA training payload is put in")
	fs.IntVar(&o.errors, "errors", 0, "print this many of the worst cross-validation errors (texts of the public corpora)")
	fs.IntVar(&o.folds, "folds", 5, "cross-validation folds for the threshold")
	fs.Float64Var(&o.maxFP, "max-fp", 0.03, "highest false-positive rate the threshold allows in cross-validation")
	fs.Float64Var(&o.maxHardFP, "max-hard-fp", 0.05, "highest false-positive rate on hard negatives")
	fs.StringVar(&o.date, "date", time.Now().UTC().Format(time.DateOnly), "training date written to the header")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	samples, err := evaluate.InjectionSamples(*corpora)
	if err != nil {
		return err
	}
	benign, err := evaluate.InjectionBenign(*corpora)
	if err != nil {
		return err
	}
	m, err := train(append(samples, benign...), o, stdout)
	if err != nil {
		return err
	}
	header, weights, err := m.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := errors.Join(
		os.WriteFile(filepath.Join(*out, injection.WeightsFile), weights, 0o644),
		os.WriteFile(filepath.Join(*out, injection.HeaderFile), header, 0o644),
	); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes) and %s\n", filepath.Join(*out, injection.WeightsFile), len(weights), injection.HeaderFile)
	return nil
}

// train fits the model on the training part of samples and chooses its
// threshold by cross-validation, printing the metrics to w.
func train(samples []evaluate.Sample, o options, w io.Writer) (*injection.Model, error) {
	total := len(samples)
	samples, err := onlyTraining(samples)
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, errors.New("no training samples")
	}
	feat, err := injection.NewFeaturizer(o.features)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "training on %d of %d samples (the training split)\n", len(samples), total)
	orig := len(samples)
	folds := make([]int, len(samples))
	for i, s := range samples {
		folds[i] = foldOf(s.Text, o.folds)
	}
	if o.augment {
		extra, extraFolds := augment(samples, folds, o.folds, o.mix)
		samples, folds = append(samples, extra...), append(folds, extraFolds...)
		fmt.Fprintf(w, "plus %d built from them (see augment)\n", len(samples)-orig)
	}
	exs := featurize(feat, samples, folds)

	all, mean := crossValidate(o.features, exs, len(exs), o.folds, o.hyper)
	cv := all[:orig]
	// The threshold also keeps the joined benign documents below it: the
	// corpora's benign texts are short, and a threshold fitted to them
	// alone flags long benign documents.
	calib := append([]scored(nil), cv...)
	for i := orig; i < len(all); i++ {
		if samples[i].Source == sourceAugmented+"benign-doc" {
			calib = append(calib, all[i])
		}
	}
	threshold := chooseThreshold(calib, o.maxFP, o.maxHardFP)
	metrics := report(w, cv, threshold, o.folds)
	if o.errors > 0 {
		printErrors(w, cv, samples, threshold, o.errors)
	}

	fm := mean
	if !o.bag {
		ptrs := make([]*example, len(exs))
		for i := range exs {
			ptrs[i] = &exs[i]
		}
		fm = fit(o.features, ptrs, o.hyper)
	}
	weights := make([]float32, len(fm.w))
	for i, x := range fm.w {
		weights[i] = float32(x)
	}
	h := injection.Header{
		Features:           o.features,
		Threshold:          round(threshold, 6),
		Trained:            o.date,
		TrainingDataSHA256: digest(samples),
		TrainingSamples:    len(samples),
		Metrics:            metrics,
	}
	fmt.Fprintf(w, "threshold %.4f (cross-validated, at most %.1f%% false positives, %.1f%% on hard negatives)\n",
		h.Threshold, 100*o.maxFP, 100*o.maxHardFP)
	return injection.NewModel(h, float32(fm.bias), weights)
}

// digest is a SHA-256 of the training texts and labels, in order.
func digest(samples []evaluate.Sample) string {
	h := sha256.New()
	for _, s := range samples {
		label := byte('0')
		if s.Positive {
			label = '1'
		}
		fmt.Fprintf(h, "%s\x00%c\x00%d:%s\n", s.Source, label, len(s.Text), s.Text)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// report prints cross-validated precision, recall and F1 per source and
// overall at the threshold, and returns the overall figures.
func report(w io.Writer, cv []scored, threshold float64, folds int) map[string]float64 {
	type tally struct{ tp, fp, fn, tn int }
	per := map[string]*tally{}
	var all, hard tally
	for _, s := range cv {
		t := per[s.source]
		if t == nil {
			t = &tally{}
			per[s.source] = t
		}
		flagged := s.p >= threshold
		for _, x := range []*tally{t, &all} {
			switch {
			case s.label == 1 && flagged:
				x.tp++
			case s.label == 1:
				x.fn++
			case flagged:
				x.fp++
			default:
				x.tn++
			}
		}
		if s.hard {
			if flagged {
				hard.fp++
			} else {
				hard.tn++
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return math.NaN()
		}
		return float64(a) / float64(b)
	}
	sources := make([]string, 0, len(per))
	for s := range per {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	fmt.Fprintf(w, "%d-fold cross-validation on the training split, threshold %.4f:\n", folds, threshold)
	fmt.Fprintf(w, "  %-48s %5s %5s %5s %5s %7s %7s %7s %7s\n", "source", "tp", "fp", "fn", "tn", "prec", "recall", "f1", "fpr")
	line := func(name string, t *tally) {
		p, r := ratio(t.tp, t.tp+t.fp), ratio(t.tp, t.tp+t.fn)
		fmt.Fprintf(w, "  %-48s %5d %5d %5d %5d %7.3f %7.3f %7.3f %7.3f\n", name, t.tp, t.fp, t.fn, t.tn,
			p, r, 2*p*r/(p+r), ratio(t.fp, t.fp+t.tn))
	}
	for _, s := range sources {
		line(s, per[s])
	}
	line("ALL", &all)
	line("hard negatives (NotInject)", &hard)
	m := map[string]float64{
		"cv_recall":    round(ratio(all.tp, all.tp+all.fn), 4),
		"cv_fpr":       round(ratio(all.fp, all.fp+all.tn), 4),
		"cv_hard_fpr":  round(ratio(hard.fp, hard.fp+hard.tn), 4),
		"cv_precision": round(ratio(all.tp, all.tp+all.fp), 4),
		"cv_folds":     float64(folds),
	}
	for k, v := range m {
		if math.IsNaN(v) { // JSON has no NaN
			delete(m, k)
		}
	}
	return m
}

// printErrors prints the worst cross-validation errors of each kind.
func printErrors(w io.Writer, cv []scored, samples []evaluate.Sample, threshold float64, n int) {
	idx := make([]int, len(cv))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return cv[idx[a]].p < cv[idx[b]].p })
	show := func(title string, want float64, order []int) {
		fmt.Fprintln(w, title)
		k := 0
		for _, i := range order {
			if k == n {
				break
			}
			if cv[i].label != want || (want == 1) == (cv[i].p >= threshold) {
				continue
			}
			k++
			t := samples[i].Text
			if len(t) > 160 {
				t = t[:160]
			}
			fmt.Fprintf(w, "  %.3f %s %s %q\n", cv[i].p, samples[i].Source, samples[i].Group, t)
		}
	}
	show("false negatives, lowest first:", 1, idx)
	rev := make([]int, len(idx))
	for i, j := range idx {
		rev[len(idx)-1-i] = j
	}
	show("false positives, highest first:", 0, rev)
}
