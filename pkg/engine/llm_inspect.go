package engine

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
	"github.com/agentguard/agentguard/pkg/sse"
)

// llmResponseInspect is the inspection of one answer.
type llmResponseInspect struct {
	// rewrite: a finding may change the answer (redact, deny), so it is
	// held: a JSON answer whole, a stream's last holdback bytes of text.
	rewrite bool
	// buffered: a JSON answer, held whole in buf.
	buffered bool
	buf      []byte
	red      *inspect.StreamRedactor[llmHeld]
	// failedSeen counts the redactor's detector failures handled;
	// truncSeen and recorded make their reports once.
	failedSeen          int
	truncSeen, recorded bool
}

// llmHeld is an event the stream redactor holds, with the paths of its
// pieces in its data.
type llmHeld struct {
	ev      sse.Event
	data    []byte
	changed bool // data differs from ev.Data already (a whole-text event)
	paths   []string
}

// masks selects the findings a stream masks: in a stream a deny cannot
// withhold what has already gone, so it masks like redact (and is
// recorded as a deny).
func masks(acts map[string]string) func(*inspect.Finding) bool {
	return func(f *inspect.Finding) bool {
		a := acts[f.Detector]
		return a == config.ActionRedact || a == config.ActionDeny
	}
}

// startResponseInspect prepares the inspection of a 2xx answer; nil when
// the profile inspects no answers.
func (x *Exchange) startResponseInspect(stream bool) *llmResponseInspect {
	acts := x.profile.inspect.actions(dirResponse)
	if len(acts) == 0 || x.rt.detectors == nil {
		return nil
	}
	ri := &llmResponseInspect{rewrite: x.profile.inspect.rewrites(dirResponse)}
	if stream {
		only := func(n string) bool { _, ok := acts[n]; return ok }
		ri.red = inspect.NewStreamRedactor[llmHeld](x.rt.detectors, x.profile.inspect.holdback, only, masks(acts))
	}
	return ri
}

// inspectAnswer inspects a whole JSON answer. It returns the body to
// send, or a Reply that replaces the answer.
func (h *llmHandler) inspectAnswer(x *Exchange, body []byte) ([]byte, *Reply, error) {
	st := &x.llm
	var sc scanResult
	if bad := unreadable(body); bad != "" { // before the walk, which recurses
		sc.failed = &denial{status: 502, kind: denyUnavailable, rule: "builtin:uninspectable",
			message: "the provider's answer " + bad}
	} else {
		sc = x.scan(dirResponse, answerTexts(h.codec.provider(), st.req.ep, body))
	}
	if d := firstOf(sc.deny, sc.failed); d != nil {
		x.rec.ResponseDecision, x.rec.ResponseRule = "deny", d.rule
		x.phase = phaseDone
		return nil, h.reject(x, *d), nil
	}
	out, changed, err := sc.redactJSON(body)
	if changed {
		x.rec.ResponseDecision = "redact"
	}
	return out, nil, err
}

func firstOf(ds ...*denial) *denial {
	for _, d := range ds {
		if d != nil {
			return d
		}
	}
	return nil
}

// bufferedAnswer holds a JSON answer until its end, reads its usage and
// inspects it.
func (h *llmHandler) bufferedAnswer(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.llm
	ri := st.resp
	ri.buf = append(ri.buf, chunk...)
	if int64(len(ri.buf)) > x.profile.maxBody {
		// Too large to hold: fail by the profile's failure mode rather than
		// pass an answer nobody inspected.
		st.usageMissing = true
		var r Result
		r.replace(ri.buf)
		ri.buf = nil
		return r, errTooLargeToInspect
	}
	if !end {
		var r Result
		r.replace([]byte{})
		return r, nil
	}
	body := ri.buf
	ri.buf = nil
	u, model, err := h.codec.usageFromJSON(st.req, body)
	if err == nil && u.known {
		st.usage, st.respModel, st.usageKnown = u, model, true
	} else {
		st.usageMissing = true
	}
	out, reply, err := h.inspectAnswer(x, body)
	if err != nil {
		return Result{}, err
	}
	if reply != nil {
		return Result{Reply: reply}, nil
	}
	var r Result
	r.replace(out)
	r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(out))})
	return r, nil
}

// pushEvent gives one event of a streamed answer to the redactor and
// appends what it releases to out. An error means a detector could not
// decide and its failure closes: the stream must not go on uninspected.
func (h *llmHandler) pushEvent(x *Exchange, ev sse.Event, out []byte) ([]byte, error) {
	st := &x.llm
	held := llmHeld{ev: ev, data: ev.Data}
	se := eventPieces(h.codec.provider(), st.req.ep, ev.Data)
	if se.whole {
		// An event that repeats whole texts is masked on its own; what it
		// holds was recorded from the stream, or is recorded here once.
		var p jsonscan.Path
		sc := x.scanRecord(dirResponse, jsonTexts(nil, gjson.ParseBytes(ev.Data), &p, answerSkip), false)
		if sc.failed != nil {
			return out, errors.New(sc.failed.message)
		}
		nb, changed, err := inspect.RedactJSON(ev.Data, sc.texts, sc.findings, masks(sc.actions))
		if err != nil {
			return out, err
		}
		if changed {
			held.data, held.changed = nb, true
			x.rec.ResponseDecision = "redact"
		}
	}
	ps := make([]inspect.Piece, len(se.pieces))
	for i, p := range se.pieces {
		ps[i] = inspect.Piece{Channel: p.channel, Text: p.text}
		held.paths = append(held.paths, p.path)
	}
	red := st.resp.red
	out = h.emit(x, red.Push(x.deadline(), held, ps), out)
	for _, prefix := range se.closes {
		out = h.emit(x, red.Close(x.deadline(), prefix), out)
	}
	return out, h.streamFailure(x)
}

// streamFailure is an error when a detector of the stream could not decide
// and its failure closes.
func (h *llmHandler) streamFailure(x *Exchange) error {
	ri := x.llm.resp
	_, truncated, failed := ri.red.Findings()
	for _, fe := range failed[ri.failedSeen:] {
		if x.detectorFailed(fe) && ri.rewrite {
			ri.failedSeen = len(failed)
			return fmt.Errorf("inspecting the stream: %w", fe)
		}
	}
	ri.failedSeen = len(failed)
	if truncated && !ri.truncSeen {
		ri.truncSeen = true
		x.e.log.Warn("stream findings over the record's cap", "profile", x.profile.Name, "request_id", x.req.ID)
	}
	return nil
}

// emit appends released events to out, rewritten where masked. With
// nothing to rewrite (report only), the events have gone already.
func (h *llmHandler) emit(x *Exchange, rs []inspect.Released[llmHeld], out []byte) []byte {
	if !x.llm.resp.rewrite {
		return out
	}
	for _, r := range rs {
		data, changed := r.Event.data, r.Event.changed
		for i, m := range r.Masked {
			if m == nil {
				continue
			}
			nb, err := sjson.SetBytes(data, r.Event.paths[i], *m)
			if err != nil {
				// The path came from this very event; if it cannot be set,
				// the event does not leave unmasked.
				data, changed = nil, true
				break
			}
			data, changed = nb, true
			x.rec.ResponseDecision = "redact"
		}
		switch {
		case !changed:
			out = append(out, r.Event.ev.Raw...)
		case data != nil:
			out = append(out, sse.Encode(r.Event.ev.Name, r.Event.ev.ID, r.Event.ev.Retry, data)...)
		}
	}
	return out
}

// flushEvents releases what the redactor holds at the end of the stream
// and records its findings.
func (h *llmHandler) flushEvents(x *Exchange, out []byte) ([]byte, error) {
	out = h.emit(x, x.llm.resp.red.Flush(x.deadline()), out)
	err := h.streamFailure(x)
	x.recordStreamFindings()
	return out, err
}

// recordStreamFindings records what the stream's redactor found, once:
// at the stream's end, or when the exchange finishes first (a client that
// went away still leaves the record of what was masked).
func (x *Exchange) recordStreamFindings() {
	ri := x.llm.resp
	if ri == nil || ri.red == nil || ri.recorded {
		return
	}
	ri.recorded = true
	fs, _, _ := ri.red.Findings()
	x.recordFindings(dirResponse, fs, x.profile.inspect.actions(dirResponse))
}

// errTooLargeToInspect: an answer the profile inspects exceeded what
// agentguard holds.
var errTooLargeToInspect = errors.New("the answer is larger than max_body_bytes and cannot be inspected")
