package evaluate

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// Counts is a confusion matrix.
type Counts struct {
	TP, FP, FN, TN int
	// HardNeg and HardNegFP count the hard negatives and the ones flagged.
	HardNeg, HardNegFP int
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Precision is TP/(TP+FP).
func (c Counts) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN).
func (c Counts) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// FPR is FP/(FP+TN): the share of negatives flagged.
func (c Counts) FPR() float64 { return ratio(c.FP, c.FP+c.TN) }

// HardNegFPR is the share of hard negatives flagged.
func (c Counts) HardNegFPR() float64 { return ratio(c.HardNegFP, c.HardNeg) }

func (c *Counts) add(o Counts) {
	c.TP += o.TP
	c.FP += o.FP
	c.FN += o.FN
	c.TN += o.TN
	c.HardNeg += o.HardNeg
	c.HardNegFP += o.HardNegFP
}

// Row is the score of one detector on one source ("all" for the total).
type Row struct {
	Detector, Source string
	Counts
}

// Hit reports whether d finds what s is about: any finding when s has no
// Kind, else a finding whose rule is s.Kind.
func Hit(ctx context.Context, d inspect.Detector, s *Sample) (bool, error) {
	hit := false
	err := d.Scan(ctx, []inspect.Text{{Value: s.Text}}, func(f inspect.Finding) {
		if s.Kind == "" || f.Rule == s.Kind {
			hit = true
		}
	})
	return hit, err
}

// Score runs d over the samples of split and returns one row per source,
// sorted, then the total.
func Score(ctx context.Context, d inspect.Detector, samples []Sample, split Split) ([]Row, error) {
	by := map[string]*Counts{}
	for i := range samples {
		s := &samples[i]
		if s.Split != split {
			continue
		}
		hit, err := Hit(ctx, d, s)
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", d.Name(), s.Source, err)
		}
		c := by[s.Source]
		if c == nil {
			c = &Counts{}
			by[s.Source] = c
		}
		switch {
		case s.Positive && hit:
			c.TP++
		case s.Positive:
			c.FN++
		case hit:
			c.FP++
		default:
			c.TN++
		}
		if s.HardNegative && !s.Positive {
			c.HardNeg++
			if hit {
				c.HardNegFP++
			}
		}
	}
	sources := make([]string, 0, len(by))
	for src := range by {
		sources = append(sources, src)
	}
	sort.Strings(sources)
	var rows []Row
	var total Counts
	for _, src := range sources {
		rows = append(rows, Row{Detector: d.Name(), Source: src, Counts: *by[src]})
		total.add(*by[src])
	}
	rows = append(rows, Row{Detector: d.Name(), Source: "all", Counts: total})
	return rows, nil
}

// WriteTable writes rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| detector | source | positives | negatives | TP | FP | FN | precision | recall | F1 | FP rate | hard-negative FP rate |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		hard := "—"
		if r.HardNeg > 0 {
			hard = fmt.Sprintf("%.3f (%d/%d)", r.HardNegFPR(), r.HardNegFP, r.HardNeg)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %.3f | %.3f | %.3f | %.3f | %s |\n",
			r.Detector, r.Source, r.TP+r.FN, r.FP+r.TN, r.TP, r.FP, r.FN,
			r.Precision(), r.Recall(), r.F1(), r.FPR(), hard)
	}
}
