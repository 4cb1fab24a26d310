package engine

import (
	"time"
)

// Finish ends the exchange: it writes the audit record and the metrics,
// exactly once, however the stream ended. streamErr says how it ended when
// not normally ("canceled", "deadline", "transport", "panic").
func (x *Exchange) Finish(streamErr string) {
	if x.finished {
		return
	}
	x.finished = true
	x.rec.StreamErr = streamErr
	x.rec.LatencyMS = float64(x.e.now().Sub(x.start)) / float64(time.Millisecond)
	if x.rec.Decision == "" {
		// Ended before a decision (cancelled): agentguard forwarded nothing.
		x.rec.Decision = "none"
	}
	if x.rec.Agent == "" {
		x.rec.Agent = "anonymous"
	}
	if x.mcp.record != nil {
		x.rec.MCP = x.mcp.record
	}
	x.recordStreamFindings() // a stream that ended early: what it masked
	m := x.e.metrics
	profile := x.Profile()
	if profile == "" {
		profile = "none"
	}
	agent := x.rec.Agent
	m.Requests.WithLabelValues(profile, agent, x.rec.Decision).Inc()
	if x.profile != nil {
		m.DecisionSeconds.WithLabelValues(profile).Observe(x.busy.Seconds())
	}
	if streamErr != "" {
		m.StreamErrors.WithLabelValues(streamErr).Inc()
	}
	x.recordMCPMetrics()
	x.recordLLM(x.rt.prices)
	x.e.audit.Write(&x.rec)
}
