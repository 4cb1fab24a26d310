package inspect

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// MaxFindings bounds the findings one Scan keeps: a hostile message full of
// matches must not grow the audit record, the CEL input or the redaction
// work without limit. Scan reports that it stopped (Truncated); the engine
// then refuses the message where findings are enforced, since spans past
// the cap would not be masked.
const MaxFindings = 256

// Set runs a list of detectors over a message's texts. It is immutable
// and safe for concurrent use.
type Set struct {
	detectors []Detector
	hashKey   []byte
}

// NewSet returns a Set of the detectors, in order. hashKey keys the
// Finding hashes: a bare SHA-256 of a short value (an SSN, a phone
// number) can be reversed by trying every value, a keyed one cannot
// without the key. Replicas that share the key can correlate findings.
func NewSet(hashKey []byte, ds ...Detector) *Set {
	return &Set{detectors: ds, hashKey: hashKey}
}

// Detectors returns the names of the Set's detectors.
func (s *Set) Detectors() []string {
	out := make([]string, len(s.detectors))
	for i, d := range s.detectors {
		out[i] = d.Name()
	}
	return out
}

// Report is what one Scan found.
type Report struct {
	Findings []Finding
	// Truncated: a detector found more than MaxFindings; the rest were
	// dropped.
	Truncated bool
	// Failed names the detectors that could not decide (a classifier
	// service that timed out), with the error, for the engine's failure
	// mode.
	Failed []DetectorError
}

// DetectorError is a detector that could not decide.
type DetectorError struct {
	Detector string
	Err      error
}

func (e DetectorError) Error() string { return fmt.Sprintf("detector %s: %v", e.Detector, e.Err) }
func (e DetectorError) Unwrap() error { return e.Err }

// Scan runs the detectors named in only (all when only is nil) over
// texts. Findings come sorted by text, then position, then detector.
func (s *Set) Scan(ctx context.Context, texts []Text, only func(detector string) bool) Report {
	var r Report
	if len(texts) == 0 {
		return r
	}
	for _, d := range s.detectors {
		name := d.Name()
		if only != nil && !only(name) {
			continue
		}
		err := d.Scan(ctx, texts, func(f Finding) {
			if f.Text < 0 || f.Text >= len(texts) || f.Start < 0 || f.End < f.Start || f.End > len(texts[f.Text].Value) {
				return // a detector bug must not become a panic or an out-of-range redaction
			}
			if len(r.Findings) >= MaxFindings {
				r.Truncated = true
				return
			}
			f.Detector = name
			f.Field = texts[f.Text].Field
			f.Hash = s.hash(texts[f.Text].Value[f.Start:f.End])
			r.Findings = append(r.Findings, f)
		})
		if err != nil {
			r.Failed = append(r.Failed, DetectorError{Detector: name, Err: err})
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := &r.Findings[i], &r.Findings[j]
		if a.Text != b.Text {
			return a.Text < b.Text
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.Detector < b.Detector
	})
	return r
}

func (s *Set) hash(v string) string {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write([]byte(v))
	var sum [sha256.Size]byte
	return "hmac:" + hex.EncodeToString(m.Sum(sum[:0])[:6])
}
