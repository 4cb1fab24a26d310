package evaluate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// presidioKinds pairs the Presidio entity names the pii detector covers
// with its rule names, in a fixed order; other entities are left out.
var presidioKinds = [...]struct{ entity, kind string }{
	{"CREDIT_CARD", "credit_card"},
	{"EMAIL_ADDRESS", "email"},
	{"IBAN_CODE", "iban"},
	{"IP_ADDRESS", "ip_address"},
	{"PHONE_NUMBER", "phone"},
	{"US_SSN", "us_ssn"},
}

// presidioRecognizerKind returns the rule name for a Presidio recognizer
// test about a covered entity.
func presidioRecognizerKind(recognizer string) (string, bool) {
	switch recognizer {
	case "credit_card", "iban", "email", "us_ssn", "phone":
		return recognizer, true
	case "ip":
		return "ip_address", true
	}
	return "", false
}

// Sources of the PII samples.
const (
	SourcePresidioSynth       = "presidio-synth"
	SourcePresidioRecognizers = "presidio-recognizers"
)

// PIISamples loads the PII corpus from corpora/pii (see its PROVENANCE.md).
//
// From presidio_research_synth_dataset_v2.json (Source "presidio-synth",
// Group the Presidio entity name): for every text, one positive per
// covered entity type with a span in it, and one negative per covered type
// without one. The dataset is generated from templates and labels every
// value it inserts, so a text without a CREDIT_CARD span has no card, and
// a card finding there is a false positive; the negatives carry their Kind
// because a text is a negative only for the types it lacks.
//
// From presidio_recognizer_samples.jsonl (Source "presidio-recognizers",
// Group the recognizer): the rows of the recognizers for the covered
// entities, positive or negative by their label, Kind the rule name. Rows
// of other recognizers are left out: a negative for, say, uk_nino says
// nothing about phones, and their positives are unlabelled for us.
// Identical samples (same text, kind and label) are kept once.
func PIISamples(corpora string) ([]Sample, error) {
	dir := filepath.Join(corpora, "pii")
	synth, err := presidioSynth(filepath.Join(dir, "presidio_research_synth_dataset_v2.json"))
	if err != nil {
		return nil, err
	}
	recs, err := presidioRecognizerRows(filepath.Join(dir, "presidio_recognizer_samples.jsonl"))
	if err != nil {
		return nil, err
	}
	return append(synth, recs...), nil
}

func presidioSynth(path string) ([]Sample, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pii corpus: %w", err)
	}
	var records []struct {
		FullText string `json:"full_text"`
		Spans    []struct {
			EntityType string `json:"entity_type"`
		} `json:"spans"`
	}
	if err := json.Unmarshal(raw, &records); err != nil {
		return nil, fmt.Errorf("pii corpus %s: %w", filepath.Base(path), err)
	}
	var out []Sample
	for _, r := range records {
		present := map[string]bool{}
		for _, sp := range r.Spans {
			present[sp.EntityType] = true
		}
		split := SplitOf(SourcePresidioSynth, r.FullText)
		for _, pk := range presidioKinds {
			out = append(out, Sample{
				Source:   SourcePresidioSynth,
				Group:    pk.entity,
				Text:     r.FullText,
				Positive: present[pk.entity],
				Kind:     pk.kind,
				Split:    split,
			})
		}
	}
	return out, nil
}

func presidioRecognizerRows(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pii corpus: %w", err)
	}
	defer f.Close()
	type key struct {
		text, kind string
		positive   bool
	}
	seen := map[key]bool{}
	var out []Sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for line := 1; sc.Scan(); line++ {
		var row struct {
			Recognizer string `json:"recognizer"`
			Text       string `json:"text"`
			Label      string `json:"label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("pii corpus %s:%d: %w", filepath.Base(path), line, err)
		}
		kind, ok := presidioRecognizerKind(row.Recognizer)
		if !ok {
			continue
		}
		if row.Label != "positive" && row.Label != "negative" {
			return nil, fmt.Errorf("pii corpus %s:%d: label %q", filepath.Base(path), line, row.Label)
		}
		k := key{row.Text, kind, row.Label == "positive"}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, Sample{
			Source:   SourcePresidioRecognizers,
			Group:    row.Recognizer,
			Text:     row.Text,
			Positive: k.positive,
			Kind:     kind,
			Split:    SplitOf(SourcePresidioRecognizers, row.Text),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pii corpus %s: %w", filepath.Base(path), err)
	}
	return out, nil
}
