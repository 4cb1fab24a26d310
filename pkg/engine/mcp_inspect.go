package engine

import (
	"errors"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
	"github.com/agentguard/agentguard/pkg/protocol/mcp"
)

// CodeResponseWithheld is the JSON-RPC error that replaces a result
// inspection denied: the call ran, its answer does not reach the agent.
const codeResponseWithheld = mcp.CodePolicyDenied

// structural members hold no free text: their values are not inspected,
// and never rewritten (a redacted "type" would break the message).
var mcpStructural = map[string]bool{"type": true, "mimeType": true, "jsonrpc": true, "_meta": true}

// messageTexts are the strings a client's message i of the body carries
// to the server, with their paths in the body: a request's or
// notification's params (tool arguments, prompt arguments, completion
// values), or an answer's result (sampling, elicitation) or error.
func messageTexts(out []inspect.Text, b *mcp.Body, i int, body []byte) []inspect.Text {
	root := gjson.ParseBytes(body)
	var p jsonscan.Path
	if b.Batch {
		p.Index(i)
		root = root.Get(strconv.Itoa(i))
	}
	for _, member := range []string{"params", "result", "error"} {
		if v := root.Get(member); v.Exists() {
			m := p.Key(member)
			out = jsonTexts(out, v, &p, mcpStructural)
			p.Pop(m)
		}
	}
	return out
}

// inspectMCPRequest scans what every message carries and returns the
// texts' scan, the message each text belongs to, and the body with the
// redactions applied (body itself when there are none).
func (x *Exchange) inspectMCPRequest(b *mcp.Body, body []byte) (scanResult, []int, []byte, error) {
	if len(x.profile.inspect.request) == 0 {
		return scanResult{}, nil, body, nil
	}
	var texts []inspect.Text
	owner := []int{}
	for i := range b.Messages {
		n := len(texts)
		texts = messageTexts(texts, b, i, body)
		for range len(texts) - n {
			owner = append(owner, i)
		}
	}
	sc := x.scan(dirRequest, texts)
	nb, _, err := sc.redactJSON(body)
	return sc, owner, nb, err
}

// inspectMCPResponse inspects one JSON-RPC message from the server: a
// result's strings (tool output, resource contents), or a server
// request's params (sampling and elicitation carry text to the agent).
// tools/list results are handled by inspectToolsList. It returns the
// message to send, nil to drop it.
func (h *mcpHandler) inspectMCPResponse(x *Exchange, msg []byte) ([]byte, bool, error) {
	root := gjson.ParseBytes(msg)
	var sc scanResult
	if bad := unreadable(msg); bad != "" { // before the walk, which recurses
		sc.failed = &denial{status: 502, kind: denyMalformed, rule: "builtin:uninspectable",
			message: "the server's message " + bad}
	} else {
		var p jsonscan.Path
		var texts []inspect.Text
		switch {
		case root.Get("result").Exists():
			p.Key("result")
			texts = jsonTexts(nil, root.Get("result"), &p, mcpStructural)
		case root.Get("method").Exists():
			p.Key("params")
			texts = jsonTexts(nil, root.Get("params"), &p, mcpStructural)
		case root.Get("error").Exists():
			// A tool's error or stack trace quotes what it failed on.
			p.Key("error")
			texts = jsonTexts(nil, root.Get("error"), &p, mcpStructural)
		default:
			return msg, false, nil
		}
		sc = x.scan(dirResponse, texts)
	}
	if sc.deny != nil || sc.failed != nil {
		d := sc.deny
		if d == nil {
			d = sc.failed
		}
		x.rec.ResponseDecision, x.rec.ResponseRule = "deny", d.rule
		id, ok := mcp.ParseID([]byte(root.Get("id").Raw))
		if root.Get("method").Exists() || !ok {
			// A server request or notification agentguard will not pass on
			// has nobody to answer on the agent's side: it is dropped.
			return nil, true, nil
		}
		code := codeResponseWithheld
		if sc.deny == nil {
			code = mcp.CodeUnavailable
		}
		return mcp.ErrorBody(id, code, d.message, map[string]string{"rule": d.rule}), true, nil
	}
	out, changed, err := sc.redactJSON(msg)
	if changed {
		x.rec.ResponseDecision = "redact"
	}
	return out, changed, err
}

// inspectToolsList scans the descriptions and schemas of a tools/list result
// and returns the names of tools whose texts the profile denies: a tool
// whose description carries an injection is hidden from the agent, the
// others pass (redacted where the profile redacts).
func (h *mcpHandler) inspectToolsList(x *Exchange, msg []byte) ([]byte, map[string]bool, error) {
	if bad := unreadable(msg); bad != "" {
		return nil, nil, errors.New("a tools/list result " + bad)
	}
	tools := gjson.GetBytes(msg, "result.tools")
	var texts []inspect.Text
	var names []string
	var p jsonscan.Path
	p.Key("result")
	p.Key("tools")
	i := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		m := p.Index(i)
		n := len(texts)
		texts = jsonTexts(texts, t, &p, map[string]bool{"name": true, "type": true, "_meta": true})
		for range len(texts) - n {
			names = append(names, t.Get("name").Str)
		}
		p.Pop(m)
		i++
		return true
	})
	sc := x.scan(dirResponse, texts)
	var poisoned map[string]bool
	for _, f := range sc.findings {
		if sc.action(&f) == "deny" {
			if poisoned == nil {
				poisoned = map[string]bool{}
			}
			poisoned[names[f.Text]] = true
		}
	}
	if sc.failed != nil {
		return nil, nil, errors.New(sc.failed.message)
	}
	out, _, err := sc.redactJSON(msg)
	return out, poisoned, err
}
