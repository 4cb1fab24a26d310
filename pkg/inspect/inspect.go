// Package inspect holds what every detector shares: the text a codec
// exposes, the Finding a detector reports, and the Set that runs the
// configured detectors over a message's texts. The detectors themselves live
// in subpackages (secrets, pii, injection, classifier) and know nothing of
// the engine.
package inspect

import (
	"context"
	"fmt"
)

// Text is one string of a message that a codec exposes, with its path in
// the message (a gjson path such as "messages.2.content.0.text", or
// "params.arguments.query" for MCP).
type Text struct {
	Field string
	Value string
	// Key: Value is a member name of the object at Field, not a value. A
	// finding in it cannot be masked (RedactJSON refuses), only denied.
	Key bool
}

// Severity orders findings; policies compare it.
type Severity int

// Severities, lowest first.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = [...]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string {
	if s >= Low && s <= Critical {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity is the inverse of String.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if n != "" && n == s {
			return Severity(i), true
		}
	}
	return 0, false
}

// Finding is one thing a detector found. It never holds the matched value:
// Hash is at most a short digest of it, so a Finding can be logged,
// audited and exported as it is.
type Finding struct {
	Detector string // set by the Set: the detector's Name
	Rule     string // the detector's rule id: "aws-access-token", "credit_card", "model"
	Severity Severity
	// Text is the index of the Text in the slice given to Scan; Field is
	// its path (set by the Set from Text).
	Text  int
	Field string
	// Start and End are the byte span of the match in the Text's Value.
	Start, End int
	// Score is the detector's confidence in [0,1]; 1 for rule matches.
	Score float64
	Hash  string // set by the Set: ShortHash of the matched bytes
}

// Detector finds one kind of thing in texts. Scan calls emit for each
// finding, in any order, with Text, Rule, Severity, Start, End and Score
// set. A detector that calls out (a classifier service) honours ctx and
// returns an error when it could not decide; local detectors return nil.
// Detectors are immutable after construction and safe for concurrent use.
type Detector interface {
	Name() string
	Scan(ctx context.Context, texts []Text, emit func(Finding)) error
}
