package engine

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// direction is which way a message goes: from the agent, or back to it.
type direction string

const (
	dirRequest  direction = "request"
	dirResponse direction = "response"
)

// profileInspect is a profile's inspection: which detectors run each way,
// and what their findings do.
type profileInspect struct {
	request, response map[string]string // detector → action
	holdback          int
	failClosed        map[string]bool // detectors whose failure denies
}

func newProfileInspect(pc *config.Profile, d *config.Detectors) profileInspect {
	return profileInspect{
		request:    pc.Inspect.Request,
		response:   pc.Inspect.Response,
		holdback:   d.StreamHoldbackBytes,
		failClosed: map[string]bool{config.DetectClassifier: d.Classifier.FailureMode != "open"},
	}
}

func (pi *profileInspect) actions(dir direction) map[string]string {
	if dir == dirRequest {
		return pi.request
	}
	return pi.response
}

// rewrites reports whether a finding in dir may change the message (redact,
// or deny, which on a response replaces or masks part of it).
func (pi *profileInspect) rewrites(dir direction) bool {
	for _, a := range pi.actions(dir) {
		if a == config.ActionRedact || a == config.ActionDeny {
			return true
		}
	}
	return false
}

// inspectState is the inspection part of an Exchange.
type inspectState struct {
	// reqFindings are the request's findings as policies see them.
	reqFindings []policy.Finding
}

// scanResult is one scan, with the action each finding gets.
type scanResult struct {
	texts    []inspect.Text
	findings []inspect.Finding
	actions  map[string]string
	deny     *denial // the first finding whose action is deny
	failed   *denial // a detector could not decide and fails closed
}

func (s *scanResult) action(f *inspect.Finding) string { return s.actions[f.Detector] }

func (s *scanResult) redacts(f *inspect.Finding) bool {
	a := s.actions[f.Detector]
	return a == config.ActionRedact
}

// scan runs the profile's detectors for dir over texts, and records what
// they found (audit and metrics).
func (x *Exchange) scan(dir direction, texts []inspect.Text) scanResult {
	return x.scanRecord(dir, texts, true)
}

// scanRecord is scan; record false masks without recording, for texts a
// stream repeats whole after streaming them (their findings are recorded
// once, from the stream).
func (x *Exchange) scanRecord(dir direction, texts []inspect.Text, record bool) scanResult {
	acts := x.profile.inspect.actions(dir)
	res := scanResult{texts: texts, actions: acts}
	if len(acts) == 0 || len(texts) == 0 || x.rt.detectors == nil {
		return res
	}
	// Where findings only get logged, a message too large to read whole
	// passes (inspected as far as it was read); where they deny or
	// redact, what was not read cannot pass.
	enforce := x.profile.inspect.rewrites(dir)
	if len(texts) >= maxTexts && enforce {
		// jsonTexts stopped reading: what it did not read cannot pass.
		res.failed = &denial{status: 413, kind: denyTooLarge, rule: "builtin:too-many-texts",
			message: fmt.Sprintf("the %s holds more than %d strings, more than agentguard inspects", dir, maxTexts)}
		return res
	}
	rep := x.rt.detectors.Scan(x.deadline(), texts, func(name string) bool { _, ok := acts[name]; return ok })
	res.findings = rep.Findings
	if rep.Truncated && enforce {
		// More findings than are kept: some spans would not be masked.
		res.failed = &denial{status: 413, kind: denyTooLarge, rule: "builtin:too-many-findings",
			message: fmt.Sprintf("the %s holds more findings than agentguard inspects", dir)}
	}
	for _, fe := range rep.Failed {
		// A local detector that gave up (hostile input over its work
		// budget) fails closed where its findings would be enforced; a
		// classifier service by its own configured mode.
		_, service := x.profile.inspect.failClosed[fe.Detector]
		if closed := x.detectorFailed(fe); closed && (enforce || service) && res.failed == nil {
			res.failed = &denial{status: 503, kind: denyUnavailable, rule: "builtin:detector-unavailable",
				message: fmt.Sprintf("the %s detector could not inspect this message", fe.Detector)}
		}
	}
	if record {
		x.recordFindings(dir, res.findings, acts)
	}
	for i := range res.findings {
		f := &res.findings[i]
		if acts[f.Detector] == config.ActionDeny {
			res.deny = &denial{status: 403, kind: denyPolicy, rule: "inspect:" + f.Detector + ":" + f.Rule,
				message: findingMessage(dir, f)}
			break
		}
	}
	return res
}

// detectorFailed counts and logs a detector that could not decide, and
// reports whether its failure closes. A classifier service fails by its
// own mode; a local detector (past the message's deadline, or over its
// work budget on hostile input) by the profile's.
func (x *Exchange) detectorFailed(fe inspect.DetectorError) bool {
	closed, ok := x.profile.inspect.failClosed[fe.Detector]
	if !ok {
		closed = !x.profile.failOpen
	}
	mode := "open"
	if closed {
		mode = "closed"
	}
	x.e.metrics.DetectorErrors.WithLabelValues(x.profile.Name, fe.Detector, mode).Inc()
	x.e.log.Warn("detector could not decide", "profile", x.profile.Name, "request_id", x.req.ID,
		"detector", fe.Detector, "mode", mode, "err", fe.Err)
	return closed
}

// findingMessage tells the client what was found and where, never the value.
func findingMessage(dir direction, f *inspect.Finding) string {
	what := map[string]string{
		config.DetectSecrets: "a secret", config.DetectPII: "personal data",
		config.DetectInjection: "a prompt injection", config.DetectClassifier: "a prompt injection",
	}[f.Detector]
	if what == "" {
		what = "a finding of " + f.Detector
	}
	return fmt.Sprintf("the %s contains %s (%s)", dir, what, f.Rule)
}

// recordFindings adds findings to the audit record and the metrics.
func (x *Exchange) recordFindings(dir direction, fs []inspect.Finding, acts map[string]string) {
	for i := range fs {
		f := &fs[i]
		act := acts[f.Detector]
		x.e.metrics.Findings.WithLabelValues(x.profile.Name, string(dir), f.Detector, f.Rule, act).Inc()
		if len(x.rec.Findings) >= telemetry.MaxAuditFindings {
			x.rec.FindingsDropped++
			continue
		}
		x.rec.Findings = append(x.rec.Findings, telemetry.Finding{
			Direction: string(dir), Detector: f.Detector, Rule: f.Rule, Severity: f.Severity.String(),
			Field: f.Field, Start: f.Start, End: f.End, Score: f.Score, Hash: f.Hash, Action: act,
		})
	}
}

// policyFindings is what CEL's `findings` sees of fs.
func policyFindings(fs []inspect.Finding, acts map[string]string) []policy.Finding {
	if len(fs) == 0 {
		return nil
	}
	out := make([]policy.Finding, len(fs))
	for i, f := range fs {
		out[i] = policy.Finding{Detector: f.Detector, Rule: f.Rule, Severity: f.Severity.String(),
			Field: f.Field, Score: f.Score, Action: acts[f.Detector]}
	}
	return out
}

// redactJSON masks the findings the profile redacts in body, a JSON
// document the texts were read from.
func (s *scanResult) redactJSON(body []byte) ([]byte, bool, error) {
	return inspect.RedactJSON(body, s.texts, s.findings, s.redacts)
}

// maxTexts bounds the strings read from one JSON value for inspection.
const maxTexts = 10000

// jsonTexts appends the string leaves of v, each with its gjson path, to
// out: tool arguments, tool results and webhook bodies have no fixed shape,
// and a secret may sit in any string of them. skip names members that
// hold no free text (ids, types): their values are passed over only when
// they look structural (a short lowercase identifier such as "text" or
// "object"), never their subtrees, so a schema property named "type" or
// a secret put where a type belongs is still read. Object keys are read
// too (a key can be a secret), with the path of their object.
func jsonTexts(out []inspect.Text, v gjson.Result, p *jsonscan.Path, skip map[string]bool) []inspect.Text {
	if len(out) >= maxTexts {
		return out
	}
	switch {
	case v.Type == gjson.String:
		if v.Str != "" {
			out = append(out, inspect.Text{Field: p.String(), Value: v.Str})
		}
	case v.IsArray():
		i := 0
		v.ForEach(func(_, el gjson.Result) bool {
			m := p.Index(i)
			out = jsonTexts(out, el, p, skip)
			p.Pop(m)
			i++
			return len(out) < maxTexts
		})
	case v.IsObject():
		v.ForEach(func(k, el gjson.Result) bool {
			if skip[k.Str] && el.Type == gjson.String && structural(el.Str) {
				return true
			}
			if secretLike(k.Str) && len(out) < maxTexts {
				out = append(out, inspect.Text{Field: p.String(), Value: k.Str, Key: true})
			}
			m := p.Key(k.Str)
			out = jsonTexts(out, el, p, skip)
			p.Pop(m)
			return len(out) < maxTexts
		})
	}
	return out
}

// structural reports whether s reads as a name, not as free text: at most
// 40 bytes of lowercase letters, digits and _ . / -.
func structural(s string) bool {
	if len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

// secretLike reports whether a member name could be a credential, so it
// is inspected: long, with letters and digits. Ordinary names
// (pullNumber, issue_id) are not, and are left out of a prompt-injection
// model that would read them as words.
func secretLike(k string) bool {
	if len(k) < 16 {
		return false
	}
	letter, digit := false, false
	for i := 0; i < len(k); i++ {
		c := k[i]
		letter = letter || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		digit = digit || c >= '0' && c <= '9'
	}
	return letter && digit
}

// unreadable reports why a message from upstream cannot be inspected as
// its receiver will read it: nested deeper than the walk goes, or a member
// name repeated (see jsonscan.RepeatedMember). "" when it can.
func unreadable(msg []byte) string {
	if !jsonscan.DepthWithin(msg, maxInspectDepth) {
		return "nests deeper than agentguard inspects"
	}
	if _, dup := jsonscan.RepeatedMember(gjson.ParseBytes(msg)); dup {
		return "repeats a member name"
	}
	return ""
}

// maxInspectDepth bounds the nesting of a message from upstream that is
// walked for inspection, as the codecs bound requests.
const maxInspectDepth = 64
