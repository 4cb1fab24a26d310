package config

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"
)

// Detectors configures the detectors that inspection runs (see
// docs/detection.md); profiles choose what each finding does.
type Detectors struct {
	// HashKey keys the short hashes findings carry instead of the matched
	// value. Replicas that share it can correlate findings; without it
	// each process draws a random key.
	HashKey Credential        `yaml:"hash_key" json:"hash_key"`
	Secrets SecretsDetector   `yaml:"secrets" json:"secrets"`
	PII     PIIDetector       `yaml:"pii" json:"pii"`
	Inject  InjectionDetector `yaml:"injection" json:"injection"`
	// Classifier asks an external prompt-injection classifier service; the
	// detector is absent unless URL is set.
	Classifier Classifier `yaml:"classifier" json:"classifier"`
	// StreamHoldbackBytes is how much of a streamed completion's text
	// agentguard holds back where a profile redacts responses, so that a
	// secret spread over several events is seen whole before any of it
	// leaves (default 512; a longer secret may be missed in a stream).
	StreamHoldbackBytes int `yaml:"stream_holdback_bytes" json:"stream_holdback_bytes"`
}

// SecretsDetector configures the rule-based secret detector.
type SecretsDetector struct {
	// ExtraRules are files in gitleaks' TOML format, added to the shipped
	// gitleaks rules.
	ExtraRules []string `yaml:"extra_rules" json:"extra_rules,omitempty"`
}

// PIIDetector configures the personal-data detector.
type PIIDetector struct {
	// Entities limits it to these (default: all): email, phone,
	// credit_card, iban, us_ssn, ip_address.
	Entities []string `yaml:"entities" json:"entities,omitempty"`
}

// InjectionDetector configures the prompt-injection detector.
type InjectionDetector struct {
	// Threshold overrides the model's shipped threshold (a probability).
	Threshold float64 `yaml:"threshold" json:"threshold,omitempty"`
}

// Classifier is an external classifier service (see docs/detection.md for
// its JSON protocol).
type Classifier struct {
	URL       string   `yaml:"url" json:"url,omitempty"`
	Timeout   Duration `yaml:"timeout" json:"timeout"`
	Threshold float64  `yaml:"threshold" json:"threshold,omitempty"`
	// FailureMode: "closed" (default) — a request the classifier could not
	// judge is denied; "open" — it passes, counted.
	FailureMode string `yaml:"failure_mode" json:"failure_mode,omitempty"`
}

// Inspect says, per direction, what a detector's findings do on this
// profile: deny, redact (mask the span; the message goes on) or log.
// A detector a direction does not name does not run there.
type Inspect struct {
	Request  map[string]string `yaml:"request" json:"request,omitempty"`
	Response map[string]string `yaml:"response" json:"response,omitempty"`
}

// Detector names and actions.
const (
	DetectSecrets    = "secrets"
	DetectPII        = "pii"
	DetectInjection  = "injection"
	DetectClassifier = "classifier"

	ActionDeny   = "deny"
	ActionRedact = "redact"
	ActionLog    = "log"
)

var detectorNames = []string{DetectSecrets, DetectPII, DetectInjection, DetectClassifier}

// spanless detectors judge a text as a whole: there is no span to mask.
var spanless = map[string]bool{DetectInjection: true, DetectClassifier: true}

const (
	defaultHoldback           = 512
	defaultClassifierTimeout  = 100 * time.Millisecond
	maxHoldback               = 64 << 10
	defaultClassifierFailMode = "closed"
)

func (d *Detectors) defaults() {
	if d.StreamHoldbackBytes == 0 {
		d.StreamHoldbackBytes = defaultHoldback
	}
	if d.Classifier.URL != "" {
		if d.Classifier.Timeout == 0 {
			d.Classifier.Timeout = Duration(defaultClassifierTimeout)
		}
		if d.Classifier.FailureMode == "" {
			d.Classifier.FailureMode = defaultClassifierFailMode
		}
		if d.Classifier.Threshold == 0 {
			d.Classifier.Threshold = 0.5
		}
	}
}

func (d *Detectors) validate(f *File, es *Errors) {
	if d.StreamHoldbackBytes < 1 || d.StreamHoldbackBytes > maxHoldback {
		es.add("detectors.stream_holdback_bytes", "must be in [1, %d], not %d", maxHoldback, d.StreamHoldbackBytes)
	}
	if t := d.Inject.Threshold; t < 0 || t >= 1 {
		es.add("detectors.injection.threshold", "must be in (0, 1), not %g", t)
	}
	seen := map[string]bool{}
	for i, e := range d.PII.Entities {
		if seen[e] {
			es.add(fmt.Sprintf("detectors.pii.entities[%d]", i), "duplicate entity %q", e)
		}
		seen[e] = true
	}
	c := &d.Classifier
	if c.URL == "" {
		if c.Timeout != 0 || c.Threshold != 0 || c.FailureMode != "" {
			es.add("detectors.classifier.url", "required when the classifier is configured")
		}
	} else {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			es.add("detectors.classifier.url", "must be an http or https URL without credentials")
		}
		if t := time.Duration(c.Timeout); t <= 0 || t >= time.Duration(f.DecisionTimeout) {
			es.add("detectors.classifier.timeout", "must be in (0, decision_timeout %s), not %s", time.Duration(f.DecisionTimeout), t)
		}
		if c.Threshold <= 0 || c.Threshold >= 1 {
			es.add("detectors.classifier.threshold", "must be in (0, 1), not %g", c.Threshold)
		}
		if c.FailureMode != "closed" && c.FailureMode != "open" {
			es.add("detectors.classifier.failure_mode", "must be closed or open, not %q", c.FailureMode)
		}
	}
}

func (in *Inspect) validate(path string, p *Profile, d *Detectors, es *Errors) {
	for _, dir := range []struct {
		name string
		m    map[string]string
	}{{"request", in.Request}, {"response", in.Response}} {
		names := make([]string, 0, len(dir.m))
		for n := range dir.m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			at := fmt.Sprintf("%s.inspect.%s.%s", path, dir.name, n)
			switch a := dir.m[n]; {
			case !slices.Contains(detectorNames, n):
				es.add(at, "unknown detector %q (available: %v)", n, detectorNames)
			case n == DetectClassifier && d.Classifier.URL == "":
				es.add(at, "the classifier detector needs detectors.classifier.url")
			case a != ActionDeny && a != ActionRedact && a != ActionLog:
				es.add(at, "action must be deny, redact or log, not %q", a)
			case a == ActionRedact && spanless[n]:
				es.add(at, "%s judges a whole text, there is no span to redact: use deny or log", n)
			case dir.name == "response" && (p.Protocol == "webhook" || p.Protocol == "http"):
				es.add(at, "protocol %s responses are not inspected", p.Protocol)
			case p.Protocol == "http":
				es.add(at, "protocol http bodies are not read: nothing to inspect")
			case p.Protocol == "webhook" && a == ActionRedact:
				es.add(at, "webhook deliveries are not rewritten (the receiver checks their signature): use deny or log")
			}
		}
	}
}
