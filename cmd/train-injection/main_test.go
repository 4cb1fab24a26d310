package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/inspect/evaluate"
	"github.com/agentguard/agentguard/pkg/inspect/injection"
)

// smallSamples is a fixed training set in testdata, all in the training
// split.
func smallSamples(t *testing.T) []evaluate.Sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Source   string `json:"source"`
		Text     string `json:"text"`
		Positive bool   `json:"positive"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	out := make([]evaluate.Sample, len(rows))
	for i, r := range rows {
		out[i] = evaluate.Sample{Source: r.Source, Text: r.Text, Positive: r.Positive, Split: evaluate.Train}
	}
	return out
}

func smallOptions() options {
	f := injection.DefaultFeatures()
	f.Bits = 12
	return options{features: f, hyper: hyper{Epochs: 4, Rate: 0.1, L2: 1e-6, Seed: 7, MinDF: 1},
		folds: 3, maxFP: 0.1, maxHardFP: 0.1, date: "2025-01-01", augment: true, bag: true, mix: 2}
}

func files(t *testing.T, samples []evaluate.Sample, o options) (header, weights []byte) {
	t.Helper()
	m, err := train(samples, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	header, weights, err = m.Files()
	if err != nil {
		t.Fatal(err)
	}
	return header, weights
}

// TestDeterministic: two runs on the same data give byte-identical files.
func TestDeterministic(t *testing.T) {
	for _, bag := range []bool{true, false} {
		o := smallOptions()
		o.bag = bag
		h1, w1 := files(t, smallSamples(t), o)
		h2, w2 := files(t, smallSamples(t), o)
		if !bytes.Equal(w1, w2) || !bytes.Equal(h1, h2) {
			t.Errorf("bag=%v: two runs differ", bag)
		}
		if _, err := injection.LoadModel(h1, w1); err != nil {
			t.Errorf("bag=%v: trained model does not load: %v", bag, err)
		}
	}
	// A different seed gives different weights (the test would pass
	// vacuously if the seed were ignored and nothing were shuffled).
	o := smallOptions()
	_, w1 := files(t, smallSamples(t), o)
	o.hyper.Seed++
	if _, w2 := files(t, smallSamples(t), o); bytes.Equal(w1, w2) {
		t.Error("seed has no effect")
	}
}

// TestTestSplitIgnored: adding test-split samples changes nothing.
func TestTestSplitIgnored(t *testing.T) {
	train := smallSamples(t)
	withTest := append([]evaluate.Sample(nil), train...)
	for _, s := range train {
		s.Split = evaluate.Test
		s.Text = "test " + s.Text
		s.Positive = !s.Positive
		withTest = append(withTest, s)
	}
	h1, w1 := files(t, train, smallOptions())
	h2, w2 := files(t, withTest, smallOptions())
	if !bytes.Equal(w1, w2) || !bytes.Equal(h1, h2) {
		t.Error("test-split samples changed the model")
	}
	got, err := onlyTraining(withTest)
	if err != nil || len(got) != len(train) {
		t.Errorf("onlyTraining kept %d of %d (err %v)", len(got), len(train), err)
	}
}

// TestSplitNoLeak: on the real corpus, no training sample holds a test
// email or a test payload.
func TestSplitNoLeak(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpora")
	if _, err := os.Stat(filepath.Join(dir, "prompt_injection")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing in CI: %v", err)
		}
		t.Skipf("corpus missing: %v", err)
	}
	samples, err := evaluate.InjectionSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	var testEmails, testPayloads []string
	for _, s := range samples {
		if s.Source == evaluate.SourceBIPIAEmail && s.Split == evaluate.Test {
			testEmails = append(testEmails, s.Text)
		}
	}
	for _, kind := range []string{"text", "code"} {
		raw, err := os.ReadFile(filepath.Join(dir, "prompt_injection", "bipia_"+kind+"_attack_test.json"))
		if err != nil {
			t.Fatal(err)
		}
		var byCat map[string][]string
		if err := json.Unmarshal(raw, &byCat); err != nil {
			t.Fatal(err)
		}
		for _, ps := range byCat {
			for _, p := range ps {
				if evaluate.SplitOf(evaluate.SourceBIPIAPayload, p) == evaluate.Test {
					testPayloads = append(testPayloads, p)
				}
			}
		}
	}
	if len(testEmails) == 0 || len(testPayloads) == 0 {
		t.Fatalf("%d test emails, %d test payloads", len(testEmails), len(testPayloads))
	}
	// The check can see a sample built on an email: test samples are.
	control := 0
	for _, s := range samples {
		for _, e := range testEmails {
			if s.Source == evaluate.SourceBIPIAIndirect && builtOn(s.Text, e) {
				control++
			}
		}
	}
	if control == 0 {
		t.Fatal("no indirect sample is built on a test email: the check is blind")
	}
	train, err := onlyTraining(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range train {
		for _, e := range testEmails {
			if builtOn(s.Text, e) {
				t.Errorf("training sample (%s) is built on test email %.60q", s.Source, e)
			}
		}
		for _, p := range testPayloads {
			if strings.Contains(s.Text, p) {
				t.Errorf("training sample (%s) holds test payload %.60q", s.Source, p)
			}
		}
	}
}

// builtOn reports whether text is email with something inserted: all of
// email is a prefix of text followed by a suffix of it.
func builtOn(text, email string) bool {
	if len(text) < len(email) {
		return false
	}
	p := 0
	for p < len(email) && text[p] == email[p] {
		p++
	}
	s := 0
	for s < len(email)-p && text[len(text)-1-s] == email[len(email)-1-s] {
		s++
	}
	return p+s == len(email)
}

func TestChooseThreshold(t *testing.T) {
	var s []scored
	for i := 0; i < 100; i++ { // negatives at 0.00 .. 0.99
		s = append(s, scored{p: float64(i) / 100})
	}
	s = append(s, scored{p: 0.995, label: 1})
	th := chooseThreshold(s, 0.03, 1)
	flagged := 0
	for _, x := range s[:100] {
		if x.p >= th {
			flagged++
		}
	}
	if flagged != 3 {
		t.Errorf("threshold %v flags %d of 100 negatives, want 3", th, flagged)
	}
	// Ties: never flag more than allowed.
	ties := []scored{{p: 0.5}, {p: 0.5}, {p: 0.5}, {p: 0.1}}
	if th := chooseThreshold(ties, 0.3, 1); th <= 0.5 {
		t.Errorf("threshold %v flags tied negatives", th)
	}
}

func TestPayloadOf(t *testing.T) {
	email := "SUBJECT: a|CONTENT: one\ntwo\nthree"
	for _, place := range []int{0, 1, 2} {
		if got := payloadOf(insertLine(email, "DO THIS NOW", place), email); got != "DO THIS NOW" {
			t.Errorf("place %d: %q", place, got)
		}
	}
}

func TestFlags(t *testing.T) {
	if err := run([]string{"-nope"}, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	if err := run([]string{"extra"}, io.Discard); err == nil {
		t.Error("argument accepted")
	}
	if err := run([]string{"-corpora", t.TempDir()}, io.Discard); err == nil {
		t.Error("missing corpora accepted")
	}
}
