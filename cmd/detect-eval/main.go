// Command detect-eval measures agentguard's detectors against the public
// labelled corpora (../shared/corpora): precision, recall and F1 per
// detector and per source, and the false-positive rate on hard negatives,
// on the fixed test split. `make eval` runs it; docs/detection.md holds
// its output.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/evaluate"
	"github.com/agentguard/agentguard/pkg/inspect/injection"
	"github.com/agentguard/agentguard/pkg/inspect/pii"
	"github.com/agentguard/agentguard/pkg/inspect/secrets"
)

func main() {
	corpora := flag.String("corpora", "../shared/corpora", "the corpora directory")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *corpora); err != nil {
		fmt.Fprintln(os.Stderr, "detect-eval:", err)
		os.Exit(1)
	}
}

type suite struct {
	title    string
	detector func() (inspect.Detector, error)
	samples  func(string) ([]evaluate.Sample, error)
}

func run(ctx context.Context, w io.Writer, corpora string) error {
	// The injection samples, plus benign texts of other kinds: system
	// prompts, MCP schema descriptions, the SDKs' recorded prompts.
	injectionAll := func(c string) ([]evaluate.Sample, error) {
		a, err := evaluate.InjectionSamples(c)
		if err != nil {
			return nil, err
		}
		b, err := evaluate.InjectionBenign(c)
		return append(a, b...), err
	}
	suites := []suite{
		{"Secrets", func() (inspect.Detector, error) { return secrets.Default() }, evaluate.SecretSamples},
		{"PII", func() (inspect.Detector, error) { return pii.New(pii.Options{}) }, evaluate.PIISamples},
		{"Prompt injection, the model's threshold", func() (inspect.Detector, error) { return injection.New(injection.Options{}) }, injectionAll},
		{"Prompt injection, threshold 0.6 (the default deployment)", func() (inspect.Detector, error) {
			return injection.New(injection.Options{Threshold: 0.6})
		}, injectionAll},
	}
	for _, s := range suites {
		d, err := s.detector()
		if err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
		samples, err := s.samples(corpora)
		if err != nil {
			return fmt.Errorf("%s samples: %w", s.title, err)
		}
		rows, err := evaluate.Score(ctx, d, samples, evaluate.Test)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "## %s — test split\n\n", s.title)
		evaluate.WriteTable(w, rows)
		fmt.Fprintln(w)
	}
	return nil
}
