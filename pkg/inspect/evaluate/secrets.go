package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// secretFile is one labelled secrets corpus in <corpora>/secrets.
type secretFile struct {
	name   string
	source string
	// kind: a sample's rule id is the Kind a finding must carry (gitleaks:
	// its samples are each checked against one rule, and an fp sample may
	// be a true secret of another kind).
	kind bool
}

var secretFiles = []secretFile{
	{"gitleaks_rule_samples.jsonl", "gitleaks", true},
	{"noseyparker_rule_examples.jsonl", "noseyparker", false},
	{"kingfisher_rule_examples.jsonl", "kingfisher", false},
	{"detect_secrets_plugin_samples.jsonl", "detect-secrets", false},
}

// secretRow holds the fields of the four files that we read; each file has
// more, which are ignored.
type secretRow struct {
	RuleID string `json:"rule_id"`
	Plugin string `json:"plugin"`
	Label  string `json:"label"`
	Text   string `json:"text"`
}

// SecretSamples loads the labelled secret samples under corpora (the
// shared corpora directory, holding secrets/). Group is the upstream rule
// id or detect-secrets plugin. Two kinds of row are adapted:
//   - gitleaks rows with no text are dropped: they test rules that match
//     file paths, and a message has no path.
//   - detect-secrets' ip_public rows are all negatives: that plugin flags
//     public IP addresses, which are not credentials, so for a secrets
//     detector its "tp" rows (133.133.133.133) are look-alikes to ignore,
//     like its "fp" rows (127.0.0.1).
func SecretSamples(corpora string) ([]Sample, error) {
	var out []Sample
	for _, f := range secretFiles {
		rows, err := readSecretRows(filepath.Join(corpora, "secrets", f.name))
		if err != nil {
			return nil, err
		}
		for i, r := range rows {
			var pos bool
			switch r.Label {
			case "tp":
				pos = true
			case "fp":
			default:
				return nil, fmt.Errorf("evaluate: %s: row %d: label %q: want tp or fp", f.name, i+1, r.Label)
			}
			group := r.RuleID
			if f.source == "detect-secrets" {
				group = r.Plugin
				if r.Plugin == "ip_public" {
					pos = false
				}
			}
			if r.Text == "" {
				if f.source == "gitleaks" {
					continue
				}
				return nil, fmt.Errorf("evaluate: %s: row %d: no text", f.name, i+1)
			}
			s := Sample{
				Source:   f.source,
				Group:    group,
				Text:     r.Text,
				Positive: pos,
				Split:    SplitOf(f.source, r.Text),
			}
			if f.kind {
				s.Kind = r.RuleID
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func readSecretRows(path string) ([]secretRow, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	defer fh.Close()
	dec := json.NewDecoder(fh)
	var rows []secretRow
	for {
		var r secretRow
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return rows, nil
		} else if err != nil {
			return nil, fmt.Errorf("evaluate: %s: row %d: %w", filepath.Base(path), len(rows)+1, err)
		}
		rows = append(rows, r)
	}
}
