package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/protocol/mcp"
	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// mcpHandler governs MCP over Streamable HTTP: routing by server header,
// per-message policy (batches all-or-nothing), tools/list filtering.
type mcpHandler struct {
	cfg *config.MCP
}

// mcpState is the MCP part of an Exchange.
type mcpState struct {
	server   string
	body     *mcp.Body
	parseErr *mcp.Error
	allowed  []bool          // per message of body: allowed by policy
	listIDs  map[string]bool // tools/list request ids still unanswered
	record   *telemetry.MCPRecord
	// response
	sse     *sse.Scanner
	json    bool
	jsonBuf []byte
	done    bool // every tools/list answered: pass the rest through
}

func (h *mcpHandler) needsBody() bool { return true }

func (h *mcpHandler) limits() mcp.Limits {
	return mcp.Limits{MaxBatch: h.cfg.MaxBatch, MaxDepth: h.cfg.MaxDepth}
}

// route validates the server header and sets the header Envoy routes on
// (cluster_header), clearing the route cache so the new value is used.
func (h *mcpHandler) route(x *Exchange, r *Result) {
	st := x.mcpRecord()
	name := x.header.Get(h.cfg.ServerHeader)
	st.SessionID = x.header.Get(mcp.HeaderSessionID)
	if v, ok := x.header.Lookup(mcp.HeaderProtocolVersion); ok && !mcp.ValidProtocolVersion(v) {
		// Policies read the version; a garbage one must not reach them or
		// the server (the spec answers it with 400).
		x.pending = &denial{status: 400, kind: denyMalformed, rule: "builtin:bad-protocol-version", message: "invalid MCP-Protocol-Version header"}
		return
	}
	for _, s := range h.cfg.Servers {
		if s.Name == name {
			x.mcp.server, st.Server = name, name
			r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: h.cfg.RouteHeader, Value: s.Cluster})
			r.ClearRouteCache = true
			return
		}
	}
	msg := "unknown MCP server"
	if name == "" {
		msg = "missing " + h.cfg.ServerHeader + " header"
	}
	x.pending = &denial{status: 400, kind: denyMalformed, rule: "builtin:unknown-server", message: msg}
}

func (x *Exchange) mcpRecord() *telemetry.MCPRecord {
	if x.mcp.record == nil {
		x.mcp.record = &telemetry.MCPRecord{}
	}
	return x.mcp.record
}

func (h *mcpHandler) decide(x *Exchange, body []byte) Result {
	if body == nil {
		if x.req.Method == "POST" {
			return x.deny(denial{status: 400, kind: denyMalformed, rule: "builtin:malformed", message: "empty body"})
		}
		// GET opens the server's SSE stream, DELETE ends a session: no
		// JSON-RPC, but the agent must still be allowed the server.
		in := x.input()
		in.MCP = &policy.MCP{Server: x.mcp.server, SessionID: x.mcp.record.SessionID,
			ProtocolVersion: x.header.Get(mcp.HeaderProtocolVersion)}
		d, err := x.profile.policy.Decide(x.deadline(), &in)
		if err != nil {
			return x.fail(err)
		}
		if !d.Allow {
			return x.deny(policyDenial(d))
		}
		return x.allow(d, nil)
	}
	b, err := mcp.Parse(body, h.limits())
	if err != nil {
		var pe *mcp.Error
		if errors.As(err, &pe) {
			x.mcp.parseErr = pe
			status := 400
			return x.deny(denial{status: status, kind: denyMalformed, rule: "builtin:malformed", message: pe.Message})
		}
		return x.fail(err)
	}
	x.mcp.body = b
	rec := x.mcpRecord()
	if b.Batch {
		rec.Batch = len(b.Messages)
	}
	var deciding *policy.Decision
	x.mcp.allowed = make([]bool, len(b.Messages))
	base := x.input()
	pv := x.header.Get(mcp.HeaderProtocolVersion)
	for i := range b.Messages {
		m := &b.Messages[i]
		if m.Kind != mcp.KindRequest && m.Kind != mcp.KindNotification {
			x.mcp.allowed[i] = true
			continue // a client's answer to a server request: nothing to govern
		}
		in := base
		in.MCP = &policy.MCP{
			Method: m.Method, ID: m.ID.String(), Server: x.mcp.server, Tool: m.Tool,
			Arguments: m.Arguments, ResourceURI: m.ResourceURI, Prompt: m.Prompt,
			SessionID: rec.SessionID, ProtocolVersion: pv, Batch: b.Batch,
		}
		d, err := x.profile.policy.Decide(x.deadline(), &in)
		if err != nil {
			return x.fail(err)
		}
		rec.Calls = append(rec.Calls, x.callRecord(m, d))
		x.mcp.allowed[i] = d.Allow
		if !d.Allow && deciding == nil {
			dd := d
			deciding = &dd
		}
		if m.Method == "tools/list" && m.Kind == mcp.KindRequest {
			if x.mcp.listIDs == nil {
				x.mcp.listIDs = map[string]bool{}
			}
			x.mcp.listIDs[m.ID.Key()] = true
		}
	}
	if deciding != nil {
		// All or nothing: a batch with one denied call is not forwarded.
		return x.deny(policyDenial(*deciding))
	}
	var allowRule policy.Decision
	allowRule.Allow = true
	if len(rec.Calls) == 1 {
		allowRule.Rule = rec.Calls[0].Rule
	}
	return x.allow(allowRule, nil)
}

// callRecord is the audit entry of one message. Argument values are kept
// only for tools the profile marks loggable; otherwise only their names.
func (x *Exchange) callRecord(m *mcp.Message, d policy.Decision) telemetry.MCPCall {
	c := telemetry.MCPCall{Method: m.Method, ID: m.ID.String(), Tool: m.Tool, Rule: d.Rule, Decision: "allow"}
	if !d.Allow {
		c.Decision = "deny"
	}
	if len(m.Arguments) > 0 {
		if x.argsLoggable(m.Tool) {
			c.Arguments = append([]byte(nil), m.Arguments...)
		} else {
			gjson.ParseBytes(m.Arguments).ForEach(func(k, _ gjson.Result) bool {
				c.ArgNames = append(c.ArgNames, k.String())
				return len(c.ArgNames) < 32
			})
		}
	}
	return c
}

func (x *Exchange) argsLoggable(tool string) bool {
	for _, g := range x.profile.logArgs {
		srv, tl, _ := strings.Cut(g, "/")
		if policy.Glob(srv, x.mcp.server) && policy.Glob(tl, tool) {
			return true
		}
	}
	return false
}

func (h *mcpHandler) reject(x *Exchange, d denial) *Reply {
	code := mcp.CodePolicyDenied
	switch d.kind {
	case denyUnauthenticated:
		code = mcp.CodeUnauthenticated
	case denyTooLarge:
		code = mcp.CodeTooLarge
	case denyUnavailable:
		code = mcp.CodeUnavailable
	case denyMalformed:
		code = mcp.CodeInvalidRequest
	}
	if pe := x.mcp.parseErr; pe != nil {
		return jsonReply(d.status, pe.Body())
	}
	data := map[string]string{}
	if d.rule != "" {
		data["rule"] = d.rule
	}
	b := x.mcp.body
	if b == nil && len(x.body) > 0 && d.kind != denyTooLarge {
		// Denied before parsing (identity, routing): parse only to address
		// the error to the request's id.
		b, _ = mcp.Parse(x.body, h.limits())
	}
	if b == nil {
		return jsonReply(d.status, mcp.ErrorBody(mcp.ID{}, code, d.message, data))
	}
	if !b.Batch {
		return jsonReply(d.status, mcp.ErrorBody(b.Messages[0].ID, code, d.message, data))
	}
	entries := make([]mcp.ErrorEntry, 0, len(b.Messages))
	for i := range b.Messages {
		m := &b.Messages[i]
		if m.Kind != mcp.KindRequest {
			continue
		}
		e := mcp.ErrorEntry{ID: m.ID, Code: code, Message: d.message, Data: data}
		if d.kind == denyPolicy && i < len(x.mcp.allowed) && x.mcp.allowed[i] {
			e.Message = "not executed: another call in this batch was denied"
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		// Only notifications: JSON-RPC has nobody to address.
		return jsonReply(d.status, mcp.ErrorBody(mcp.ID{}, code, d.message, data))
	}
	return jsonReply(d.status, mcp.BatchErrorBody(entries))
}

func (h *mcpHandler) responseHeaders(x *Exchange, status int, hd Header) Result {
	if len(x.mcp.listIDs) == 0 {
		return Result{ResponseBodyMode: BodyNone}
	}
	ct := strings.ToLower(hd.Get("content-type"))
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		x.mcp.sse = sse.NewScanner(h.cfg.MaxEventBytes)
		// Streamed, never buffered: an SSE response may stay open.
		return Result{ResponseBodyMode: BodyStreamed, RemoveHeaders: []string{"content-length"}}
	case strings.HasPrefix(ct, "application/json"):
		x.mcp.json = true
		return Result{ResponseBodyMode: BodyBuffered}
	}
	return Result{ResponseBodyMode: BodyNone}
}

func (h *mcpHandler) responseBody(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.mcp
	switch {
	case st.done || len(st.listIDs) == 0 && st.sse == nil && !st.json:
		return Result{}, nil
	case st.json:
		return h.jsonResponse(x, chunk, end)
	case st.sse != nil:
		return h.sseResponse(x, chunk, end)
	}
	return Result{}, nil
}

func (h *mcpHandler) jsonResponse(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.mcp
	if !end {
		// Streamed JSON (the override was not honoured): hold it whole.
		if len(st.jsonBuf)+len(chunk) > int(x.profile.maxBody)*8 {
			return Result{}, errors.New("JSON response too large to filter")
		}
		st.jsonBuf = append(st.jsonBuf, chunk...)
		var r Result
		r.replace([]byte{})
		return r, nil
	}
	held := len(st.jsonBuf) > 0
	body := append(st.jsonBuf, chunk...)
	out, changed, err := h.filterMessages(x, body)
	if err != nil {
		return Result{}, err
	}
	var r Result
	if changed || held {
		r.replace(out)
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(out))})
	}
	return r, nil
}

func (h *mcpHandler) sseResponse(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.mcp
	events, err := st.sse.Feed(chunk)
	if err != nil {
		return Result{}, fmt.Errorf("sse: %w", err)
	}
	if end {
		// A final event whose blank line ended in a lone CR completes only
		// at end of stream.
		if ev, ok := st.sse.End(); ok {
			events = append(events, ev)
		}
	}
	out := make([]byte, 0, len(chunk))
	for _, ev := range events {
		if len(ev.Data) == 0 || len(st.listIDs) == 0 {
			out = append(out, ev.Raw...)
			continue
		}
		data, changed, err := h.filterMessages(x, ev.Data)
		if err != nil {
			return Result{}, err
		}
		if !changed {
			out = append(out, ev.Raw...)
			continue
		}
		out = append(out, sse.Encode(ev.Name, ev.ID, ev.Retry, data)...)
	}
	if len(st.listIDs) == 0 || end {
		// Nothing left to filter: release what is held and stop parsing.
		out = append(out, st.sse.Pending()...)
		st.done = true
	}
	if bytes.Equal(out, chunk) {
		return Result{}, nil
	}
	var r Result
	r.replace(out)
	return r, nil
}

// filterMessages filters every tools/list result addressed to this
// exchange's tools/list ids in a JSON-RPC message or batch.
func (h *mcpHandler) filterMessages(x *Exchange, body []byte) ([]byte, bool, error) {
	root := gjson.ParseBytes(body)
	if root.IsArray() {
		changedAny := false
		out := []byte{'['}
		i := 0
		var ferr error
		root.ForEach(func(_, v gjson.Result) bool {
			if i > 0 {
				out = append(out, ',')
			}
			i++
			nb, changed, err := h.filterOne(x, []byte(v.Raw))
			if err != nil {
				ferr = err
				return false
			}
			changedAny = changedAny || changed
			out = append(out, nb...)
			return true
		})
		if ferr != nil || !changedAny {
			return body, false, ferr
		}
		return append(out, ']'), true, nil
	}
	return h.filterOne(x, body)
}

func (h *mcpHandler) filterOne(x *Exchange, msg []byte) ([]byte, bool, error) {
	st := &x.mcp
	idRes := gjson.GetBytes(msg, "id")
	if !idRes.Exists() {
		return msg, false, nil
	}
	id, ok := mcp.ParseID([]byte(idRes.Raw))
	if !ok || !st.listIDs[id.Key()] {
		return msg, false, nil
	}
	delete(st.listIDs, id.Key())
	if gjson.GetBytes(msg, "error").Exists() {
		return msg, false, nil
	}
	removed := 0
	out, changed, err := mcp.FilterToolsList(msg, func(name string) bool {
		ok := x.profile.policy.ToolAllowed(&x.agent, st.server, name)
		if !ok {
			removed++
		}
		return ok
	})
	if err != nil {
		return nil, false, fmt.Errorf("filter tools/list: %w", err)
	}
	if removed > 0 {
		x.mcpRecord().ToolsFiltered += removed
		x.e.metrics.ToolsFiltered.WithLabelValues(st.server).Add(float64(removed))
	}
	return out, changed, nil
}

// recordMCPMetrics counts each decided MCP message, with label values
// bounded by the config.
func (x *Exchange) recordMCPMetrics() {
	rec := x.mcp.record
	if rec == nil || x.profile == nil {
		return
	}
	server := rec.Server
	if server == "" {
		server = "unknown"
	}
	for _, c := range rec.Calls {
		tool := ""
		if c.Tool != "" {
			tool = "other"
			if x.profile.policy.KnownTool(server, c.Tool) {
				tool = c.Tool
			}
		}
		x.e.metrics.MCPCalls.WithLabelValues(server, tool, mcp.MethodLabel(c.Method), c.Decision).Inc()
	}
}
