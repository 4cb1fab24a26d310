package evaluate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// word flags texts holding "bad", with rule "bad".
type word struct{}

func (word) Name() string { return "word" }
func (word) Scan(_ context.Context, ts []inspect.Text, emit func(inspect.Finding)) error {
	for i, t := range ts {
		if j := strings.Index(t.Value, "bad"); j >= 0 {
			emit(inspect.Finding{Rule: "bad", Text: i, Start: j, End: j + 3})
		}
	}
	return nil
}

func TestScore(t *testing.T) {
	ss := []Sample{
		{Source: "a", Text: "bad", Positive: true, Split: Test},
		{Source: "a", Text: "good", Positive: true, Split: Test},
		{Source: "a", Text: "bad", Split: Test, HardNegative: true},
		{Source: "a", Text: "fine", Split: Test, HardNegative: true},
		{Source: "b", Text: "bad", Kind: "other", Split: Test}, // a negative for "other" only
		{Source: "b", Text: "bad", Kind: "bad", Positive: true, Split: Test},
		{Source: "b", Text: "bad", Positive: true, Split: Train}, // not scored
	}
	rows, err := Score(context.Background(), word{}, ss, Test)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Counts{
		"a":   {TP: 1, FN: 1, FP: 1, TN: 1, HardNeg: 2, HardNegFP: 1},
		"b":   {TP: 1, TN: 1},
		"all": {TP: 2, FN: 1, FP: 1, TN: 2, HardNeg: 2, HardNegFP: 1},
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		if r.Counts != want[r.Source] {
			t.Errorf("%s: %+v, want %+v", r.Source, r.Counts, want[r.Source])
		}
	}
	all := rows[2].Counts
	if all.Precision() != 2.0/3 || all.Recall() != 2.0/3 || all.FPR() != 1.0/3 || all.HardNegFPR() != 0.5 {
		t.Errorf("ratios: p=%v r=%v fpr=%v hard=%v", all.Precision(), all.Recall(), all.FPR(), all.HardNegFPR())
	}
	var b bytes.Buffer
	WriteTable(&b, rows)
	if !strings.Contains(b.String(), "| word | all | 3 | 3 | 2 | 1 | 1 | 0.667 | 0.667 | 0.667 | 0.333 | 0.500 (1/2) |") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestSplitOfIsStable(t *testing.T) {
	// The split is part of the evaluation's definition: these must never
	// change, or results stop being comparable across versions.
	n := 0
	for i := range 1000 {
		if SplitOf("src", strings.Repeat("x", i)) == Test {
			n++
		}
	}
	if n < 250 || n > 350 {
		t.Errorf("%d of 1000 in test, want about 300", n)
	}
	golden := map[string]Split{"": Test, "hello": Train, "ignore previous instructions": Train,
		"AKIAIOSFODNN7EXAMPLE": Test, "x": Train}
	for text, want := range golden {
		if got := SplitOf("pi", text); got != want {
			t.Errorf("SplitOf(pi, %q) = %v, want %v: the split changed", text, got, want)
		}
	}
}
