package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Record is the audit record of one request. Fields are chosen, not dumped:
// no header values, no bodies, no credentials. Tool arguments appear only
// where the profile marks the tool loggable; otherwise only their names.
type Record struct {
	Time      time.Time
	Adapter   string // ext_proc, ext_authz
	RequestID string
	Profile   string
	Agent     string
	SPIFFE    string
	IDSource  string
	Method    string // HTTP method
	Path      string
	Decision  string // allow, deny, error; none when the stream ended first
	Rule      string
	Reason    string
	Status    int // HTTP status of agentguard's reply, or of the upstream response
	LatencyMS float64
	MCP       *MCPRecord
	LLM       *LLMRecord
	StreamErr string // how the stream ended, when abnormally
	// ResponseErr is set when agentguard failed on the response of a
	// request it had already allowed: Decision and Rule stay those of the
	// request, which did reach the upstream.
	ResponseErr string
	FailedOpen  bool
	// ResponseDecision is what inspection did to the answer of an allowed
	// request (redact, deny: withheld), by ResponseRule.
	ResponseDecision, ResponseRule string
	// Findings are what the detectors found, never the values; at most
	// MaxAuditFindings, the rest counted in FindingsDropped.
	Findings        []Finding
	FindingsDropped int
}

// MaxAuditFindings bounds the findings one record carries.
const MaxAuditFindings = 32

// Finding is a detector finding in the audit record: where and what, with
// a keyed short hash to correlate repeats, never the matched value.
type Finding struct {
	Direction string  `json:"direction"`
	Detector  string  `json:"detector"`
	Rule      string  `json:"rule"`
	Severity  string  `json:"severity"`
	Field     string  `json:"field"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	Score     float64 `json:"score,omitempty"`
	Hash      string  `json:"hash,omitempty"`
	Action    string  `json:"action"`
}

// MCPRecord is the MCP part of a record.
type MCPRecord struct {
	Server        string
	SessionID     string
	Batch         int
	Calls         []MCPCall
	ToolsFiltered int
}

// LLMRecord is the LLM part of a record: what was asked of which model and
// what it cost. Never the prompt.
type LLMRecord struct {
	Provider, Endpoint, Model, PricedAs, Workflow string
	Stream                                        bool
	InputTokens, OutputTokens, CachedTokens       int64
	CacheWriteTokens, ReasoningTokens             int64
	CostUSD                                       float64
	UsageMissing                                  bool
	// Incomplete: the stream ended (cut or cancelled) before its terminal
	// event; the usage is what it had reported.
	Incomplete bool
	// ResponseRule is the response rule the answer violated, if any.
	ResponseRule string
}

// MCPCall is one JSON-RPC message of the request.
type MCPCall struct {
	Method    string          `json:"method"`
	ID        string          `json:"id,omitempty"`
	Tool      string          `json:"tool,omitempty"`
	ArgNames  []string        `json:"arg_names,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Decision  string          `json:"decision"`
	Rule      string          `json:"rule,omitempty"`
}

// Auditor writes records as JSON lines. A nil *Auditor discards them.
type Auditor struct {
	h slog.Handler
}

// NewAuditor writes to w; the caller owns w.
func NewAuditor(w io.Writer) *Auditor {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			// Every record is an audit record: the level says nothing.
			if len(groups) == 0 && a.Key == slog.LevelKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return &Auditor{h: h}
}

// Write emits r.
func (a *Auditor) Write(r *Record) {
	if a == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", r.RequestID),
		slog.String("profile", r.Profile),
		slog.String("agent", r.Agent),
		slog.String("decision", r.Decision),
	}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, clip(v)))
		}
	}
	add("adapter", r.Adapter)
	add("spiffe", r.SPIFFE)
	add("identity_source", r.IDSource)
	add("method", r.Method)
	add("path", r.Path)
	add("rule", r.Rule)
	add("reason", r.Reason)
	if r.Status != 0 {
		attrs = append(attrs, slog.Int("status", r.Status))
	}
	attrs = append(attrs, slog.Float64("latency_ms", r.LatencyMS))
	if m := r.MCP; m != nil {
		g := []any{}
		if m.Server != "" {
			g = append(g, slog.String("server", m.Server))
		}
		if m.SessionID != "" {
			g = append(g, slog.String("session_id", m.SessionID))
		}
		if m.Batch > 0 {
			g = append(g, slog.Int("batch", m.Batch))
		}
		if len(m.Calls) == 1 {
			c := m.Calls[0]
			g = append(g, slog.String("method", clip(c.Method)))
			if c.Tool != "" {
				g = append(g, slog.String("tool", clip(c.Tool)))
			}
			if c.ID != "" {
				g = append(g, slog.String("id", clip(c.ID)))
			}
			if len(c.Arguments) > 0 {
				g = append(g, slog.Any("arguments", c.Arguments))
			} else if len(c.ArgNames) > 0 {
				g = append(g, slog.Any("arg_names", c.ArgNames))
			}
		} else if len(m.Calls) > 1 {
			g = append(g, slog.Any("calls", m.Calls))
		}
		if m.ToolsFiltered > 0 {
			g = append(g, slog.Int("tools_filtered", m.ToolsFiltered))
		}
		attrs = append(attrs, slog.Group("mcp", g...))
	}
	if l := r.LLM; l != nil {
		g := []any{slog.String("provider", l.Provider)}
		for _, kv := range [][2]string{{"endpoint", l.Endpoint}, {"model", clip(l.Model)}, {"priced_as", l.PricedAs}, {"workflow", clip(l.Workflow)}} {
			if kv[1] != "" {
				g = append(g, slog.String(kv[0], kv[1]))
			}
		}
		if l.Stream {
			g = append(g, slog.Bool("stream", true))
		}
		if l.InputTokens+l.OutputTokens+l.CachedTokens+l.CacheWriteTokens > 0 {
			g = append(g, slog.Int64("input_tokens", l.InputTokens), slog.Int64("output_tokens", l.OutputTokens),
				slog.Int64("cached_tokens", l.CachedTokens), slog.Int64("cache_write_tokens", l.CacheWriteTokens),
				slog.Int64("reasoning_tokens", l.ReasoningTokens), slog.Float64("cost_usd", l.CostUSD))
		}
		if l.UsageMissing {
			g = append(g, slog.Bool("usage_missing", true))
		}
		if l.Incomplete {
			g = append(g, slog.Bool("incomplete", true))
		}
		if l.ResponseRule != "" {
			g = append(g, slog.String("response_rule", l.ResponseRule))
		}
		attrs = append(attrs, slog.Group("llm", g...))
	}
	add("response_decision", r.ResponseDecision)
	add("response_rule", r.ResponseRule)
	add("stream_error", r.StreamErr)
	add("response_error", r.ResponseErr)
	if r.FailedOpen {
		attrs = append(attrs, slog.Bool("failed_open", true))
	}
	if len(r.Findings) > 0 {
		fs := make([]Finding, len(r.Findings))
		for i, f := range r.Findings {
			f.Field = clip(f.Field)
			fs[i] = f
		}
		attrs = append(attrs, slog.Any("findings", fs))
		if r.FindingsDropped > 0 {
			attrs = append(attrs, slog.Int("findings_dropped", r.FindingsDropped))
		}
	}
	// The record's time is when the request arrived, not when it was written.
	rec := slog.NewRecord(r.Time.UTC(), slog.LevelInfo, "audit", 0)
	rec.AddAttrs(attrs...)
	_ = a.h.Handle(context.Background(), rec)
}

// maxField bounds each client-derived string in a record: a line stays
// readable, and a client cannot fill the audit log through one field.
const maxField = 256

// clip shortens s to at most maxField bytes on a rune boundary, marking the
// cut with "…".
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	cut := maxField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ShortHash identifies a value without recording it (session ids): the
// first 12 hex digits of its SHA-256.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
