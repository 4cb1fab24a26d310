package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/inspect"
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
	server    string
	sessionID string // raw, for policies; the audit record holds a hash
	body      *mcp.Body
	parseErr  *mcp.Error
	allowed   []bool          // per message of body: allowed by policy
	listIDs   map[string]bool // tools/list request ids still unanswered
	record    *telemetry.MCPRecord
	// response
	sse     *sse.Scanner
	json    bool
	jsonBuf []byte
	done    bool // nothing left to filter: pass the rest through
	// inspectResp: the profile inspects responses and a request was
	// forwarded, so every message of the answer is read.
	inspectResp bool
	getStream   bool // the response is a GET's server stream
}

func (h *mcpHandler) needsBody(*Exchange) bool { return true }

func (h *mcpHandler) limits() mcp.Limits {
	return mcp.Limits{MaxBatch: h.cfg.MaxBatch, MaxDepth: h.cfg.MaxDepth}
}

// route validates the server header and sets the header Envoy routes on
// (cluster_header), clearing the route cache so the new value is used.
func (h *mcpHandler) route(x *Exchange, r *Result) {
	st := x.mcpRecord()
	name := x.header.Get(h.cfg.ServerHeader)
	x.mcp.sessionID = x.header.Get(mcp.HeaderSessionID)
	if x.mcp.sessionID != "" {
		// A session id is a bearer token for the session: record a hash.
		st.SessionID = telemetry.ShortHash(x.mcp.sessionID)
	}
	// Responses are read (tools/list filtering): ask for them uncompressed
	// rather than pass what cannot be read.
	r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "accept-encoding", Value: "identity"})
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
		in.MCP = &policy.MCP{Server: x.mcp.server, SessionID: x.mcp.sessionID,
			ProtocolVersion: x.header.Get(mcp.HeaderProtocolVersion)}
		d, err := x.decidePolicy(&in)
		if err != nil {
			return x.fail(err)
		}
		if !d.Allow {
			return x.deny(policyDenial(d))
		}
		if r := x.takeLimits(&in); r != nil {
			return *r
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
	sc, owner, redacted, err := x.inspectMCPRequest(b, body)
	if err != nil {
		return x.fail(err)
	}
	if sc.failed != nil {
		return x.deny(*sc.failed)
	}
	if sc.deny != nil {
		return x.deny(*sc.deny)
	}
	rec := x.mcpRecord()
	if b.Batch {
		rec.Batch = len(b.Messages)
	}
	var deciding *policy.Decision
	// limited are the messages limits count: requests and notifications,
	// not a client's answers to the server.
	var limited []*policy.Input
	var limitedMsg []int
	x.mcp.allowed = make([]bool, len(b.Messages))
	base := x.input()
	pv := x.header.Get(mcp.HeaderProtocolVersion)
	for i := range b.Messages {
		m := &b.Messages[i]
		in := base
		var found []inspect.Finding
		for _, f := range sc.findings {
			if owner[f.Text] == i {
				found = append(found, f)
			}
		}
		in.Findings = policyFindings(found, sc.actions)
		in.MCP = &policy.MCP{
			Method: m.Method, ID: m.ID.String(), Server: x.mcp.server, Tool: m.Tool,
			Arguments: m.Arguments, ResourceURI: m.ResourceURI, Prompt: m.Prompt,
			SessionID: x.mcp.sessionID, ProtocolVersion: pv, Batch: b.Batch,
		}
		// A client's answer to a server request (elicitation, sampling)
		// has no method; it is decided like a GET: the agent must still be
		// allowed the server, and rules see mcp.method "".
		d, err := x.decidePolicy(&in)
		if err != nil {
			return x.fail(err)
		}
		rec.Calls = append(rec.Calls, x.callRecord(m, d, len(found) > 0))
		if m.Method != "" {
			limited, limitedMsg = append(limited, &in), append(limitedMsg, i)
		}
		x.mcp.allowed[i] = d.Allow
		if !d.Allow && deciding == nil {
			dd := d
			deciding = &dd
		}
		if d.Allow && m.Kind == mcp.KindRequest && len(x.profile.inspect.response) > 0 {
			x.mcp.inspectResp = true
		}
		if d.Allow && m.Method == "tools/list" && m.Kind == mcp.KindRequest {
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
	if r := x.takeLimits(limited...); r != nil {
		for _, j := range x.lim.refused {
			c := &rec.Calls[limitedMsg[j]]
			c.Decision, c.Rule = "deny", x.rec.Rule
		}
		return *r
	}
	var allowRule policy.Decision
	allowRule.Allow = true
	if len(rec.Calls) == 1 {
		allowRule.Rule = rec.Calls[0].Rule
	}
	var r Result
	if len(redacted) != len(body) || string(redacted) != string(body) {
		// The server gets the arguments with the secrets masked.
		r.replace(redacted)
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(redacted))})
	}
	return x.allow(allowRule, &r)
}

// callRecord is the audit entry of one message. Argument values are kept
// only for tools the profile marks loggable; otherwise only their names.
func (x *Exchange) callRecord(m *mcp.Message, d policy.Decision, found bool) telemetry.MCPCall {
	c := telemetry.MCPCall{Method: m.Method, ID: m.ID.String(), Tool: m.Tool, Rule: d.Rule, Decision: "allow"}
	if !d.Allow {
		c.Decision = "deny"
	}
	if len(m.Arguments) > 0 {
		// Arguments a detector found something in are never recorded,
		// even for a loggable tool: only their names.
		if !found && x.argsLoggable(m.Tool) {
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
	case denyRateLimited:
		code = mcp.CodeRateLimited
	}
	if pe := x.mcp.parseErr; pe != nil {
		return jsonReply(d.status, pe.Body())
	}
	if d.kind == denyPolicy || d.kind == denyUnauthenticated {
		d.status = h.cfg.DenialStatus
	}
	data := map[string]string{}
	if d.rule != "" {
		data["rule"] = d.rule
	}
	if d.limit != nil && d.limit.retryAfter != "" {
		data["retry_after"] = d.limit.retryAfter // seconds, for clients that see no HTTP headers
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
	st := &x.mcp
	// A GET stream carries the server's messages, and after a resumption
	// (Last-Event-ID) replays of earlier answers, tools/list results among
	// them: read it whole. A POST's response is read while tools/list
	// answers are pending.
	st.getStream = x.req.Method == "GET"
	if len(st.listIDs) == 0 && !st.getStream && !st.inspectResp || status < 200 || status > 299 {
		return Result{ResponseBodyMode: BodyNone}
	}
	if enc := strings.ToLower(hd.Get("content-encoding")); enc != "" && enc != "identity" {
		return x.fail(fmt.Errorf("response content-encoding %q cannot be filtered", enc))
	}
	ct := strings.ToLower(hd.Get("content-type"))
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		st.sse = sse.NewScanner(h.cfg.MaxEventBytes)
		// Streamed, never buffered: an SSE response may stay open.
		return Result{ResponseBodyMode: BodyStreamed, RemoveHeaders: []string{"content-length"}}
	case strings.HasPrefix(ct, "application/json") && !st.getStream:
		st.json = true
		// content-length is set again with the filtered body; removed here
		// too in case Envoy streams the body after all.
		return Result{ResponseBodyMode: BodyBuffered, RemoveHeaders: []string{"content-length"}}
	case st.getStream:
		return Result{ResponseBodyMode: BodyNone}
	}
	return x.fail(fmt.Errorf("an answer to be filtered or inspected came with content-type %q", ct))
}

func (h *mcpHandler) responseBody(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.mcp
	switch {
	case st.done:
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
		st.jsonBuf = append(st.jsonBuf, chunk...)
		if len(st.jsonBuf) > h.cfg.MaxEventBytes {
			st.done = true
			var r Result
			r.replace(st.jsonBuf)
			return r, errors.New("JSON response too large to filter")
		}
		var r Result
		r.replace([]byte{})
		return r, nil
	}
	held := len(st.jsonBuf) > 0
	body := append(st.jsonBuf, chunk...)
	out, changed, err := h.filterMessages(x, body)
	var r Result
	if err != nil {
		out, changed = body, held // failing open passes it as it came
	}
	if changed || held || err != nil {
		r.replace(out)
		r.SetHeaders = append(r.SetHeaders, HeaderValue{Name: "content-length", Value: strconv.Itoa(len(out))})
	}
	return r, err
}

func (h *mcpHandler) sseResponse(x *Exchange, chunk []byte, end bool) (Result, error) {
	st := &x.mcp
	events, ferr := st.sse.Feed(chunk)
	if end && ferr == nil {
		// A final event whose blank line ended in a lone CR completes only
		// at end of stream.
		if ev, ok := st.sse.End(); ok {
			events = append(events, ev)
		}
	}
	out := make([]byte, 0, len(chunk))
	for _, ev := range events {
		if len(ev.Data) == 0 {
			out = append(out, ev.Raw...)
			continue
		}
		data, changed, err := h.filterMessages(x, ev.Data)
		if err != nil {
			ferr = err
			out = append(out, ev.Raw...)
			continue
		}
		if !changed {
			out = append(out, ev.Raw...)
			continue
		}
		if data == nil {
			continue // a server message inspection withheld
		}
		out = append(out, sse.Encode(ev.Name, ev.ID, ev.Retry, data)...)
	}
	if ferr != nil || end || len(st.listIDs) == 0 && !st.getStream && !st.inspectResp {
		// Nothing left to filter, or nothing more can be: release what is
		// held and stop parsing.
		out = append(out, st.sse.Pending()...)
		st.done = true
	}
	if ferr != nil {
		var r Result
		r.replace(out)
		return r, fmt.Errorf("sse: %w", ferr)
	}
	if bytes.Equal(out, chunk) {
		return Result{}, nil
	}
	var r Result
	r.replace(out)
	return r, nil
}

// filterMessages filters every tools/list result in a JSON-RPC message or
// batch.
func (h *mcpHandler) filterMessages(x *Exchange, body []byte) ([]byte, bool, error) {
	root := gjson.ParseBytes(body)
	if root.IsArray() {
		changedAny := false
		out := []byte{'['}
		i := 0
		var ferr error
		root.ForEach(func(_, v gjson.Result) bool {
			nb, changed, err := h.filterOne(x, []byte(v.Raw))
			if err != nil {
				ferr = err
				return false
			}
			changedAny = changedAny || changed
			if nb == nil {
				return true // dropped by inspection
			}
			if i > 0 {
				out = append(out, ',')
			}
			i++
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

// filterOne filters one message. A tools/list result is recognised by its
// shape (result.tools), not only by a pending id: answers replayed on a
// resumed stream, or to an id written differently, are filtered too.
func (h *mcpHandler) filterOne(x *Exchange, msg []byte) ([]byte, bool, error) {
	st := &x.mcp
	if idRes := gjson.GetBytes(msg, "id"); idRes.Exists() {
		if id, ok := mcp.ParseID([]byte(idRes.Raw)); ok {
			delete(st.listIDs, id.Key())
		}
	}
	if !gjson.GetBytes(msg, "result.tools").Exists() {
		if len(x.profile.inspect.response) == 0 {
			return msg, false, nil
		}
		return h.inspectMCPResponse(x, msg)
	}
	if gjson.GetBytes(msg, "error").Exists() {
		return nil, false, errors.New("a message with both result and error")
	}
	in := msg
	var poisoned map[string]bool
	if len(x.profile.inspect.response) > 0 {
		var err error
		if in, poisoned, err = h.inspectToolsList(x, msg); err != nil {
			return nil, false, err
		}
	}
	removed := 0
	out, changed, err := mcp.FilterToolsList(in, func(name string) bool {
		ok := x.profile.policy.ToolAllowed(&x.agent, st.server, name) && !poisoned[name]
		if !ok {
			removed++
		}
		return ok
	})
	changed = changed || len(in) != len(msg)
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
