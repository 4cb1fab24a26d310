package mcp

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Kind classifies one JSON-RPC message.
type Kind int

// Message kinds. The zero Kind is not a valid message.
const (
	KindRequest      Kind = iota + 1 // method and id
	KindNotification                 // method, no id
	KindResponse                     // result
	KindError                        // error response
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResponse:
		return "response"
	case KindError:
		return "error"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Message is one validated JSON-RPC message.
type Message struct {
	Kind   Kind
	ID     ID     // zero for notifications; may be null on error responses
	Method string // "" for responses
	Params []byte // raw JSON of params; nil when absent

	// Extracted for policy (client-direction requests only).
	Tool        string // tools/call params.name
	Arguments   []byte // tools/call params.arguments, a raw JSON object; nil if absent
	ResourceURI string // resources/read, resources/subscribe, resources/unsubscribe params.uri
	Prompt      string // prompts/get params.name
}

// Body is a parsed HTTP body: one message, or a batch.
type Body struct {
	Batch    bool
	Messages []Message
}

type direction int

const (
	fromClient direction = iota
	fromServer
)

// Parse parses a client-to-server body (one message or a batch), as POSTed
// to an MCP endpoint: requests, notifications, and responses to the server's
// own requests. It checks, in order: UTF-8, nesting depth, JSON syntax, the
// batch size, then each message's JSON-RPC envelope and, for MCP methods
// whose parameters policy reads or the spec requires, their parameters.
//
// It fails with an *Error carrying the JSON-RPC error to send: -32700 for
// bodies that are not JSON, not UTF-8 or too deep; -32600 for invalid
// messages and empty or oversized batches; -32602 for invalid MCP params. ID
// is set when the offending message's id could be read. For a batch, the
// first invalid message decides the error (its Index is set) and the whole
// batch is rejected: a gateway does not forward half a batch.
//
// Beyond JSON-RPC it rejects: a repeated or case-varied member in a message or
// in the params or arguments of a policed method (decoders disagree on which
// copy wins, so policy and server could see different tool names); a "notifications/..."
// method with an id; a known MCP request method without an id (servers differ
// on whether to run it); "params": null.
func Parse(body []byte, lim Limits) (*Body, error) {
	return parse(body, lim, fromClient)
}

// ParseServer parses a server-to-client body: a JSON response or a message
// from an SSE stream (responses, error responses, and the server's own
// requests and notifications), so callers can match responses to request
// ids. It applies the JSON-RPC envelope rules of [Parse] but no MCP params
// rules, which are for client requests.
func ParseServer(body []byte, lim Limits) (*Body, error) {
	return parse(body, lim, fromServer)
}

func parse(body []byte, lim Limits, dir direction) (*Body, error) {
	lim = lim.withDefaults()
	if err := checkJSON(body, lim.MaxDepth); err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(body)
	switch {
	case root.IsObject():
		m, err := parseMessage(root, dir)
		if err != nil {
			return nil, err
		}
		return &Body{Messages: []Message{m}}, nil
	case root.IsArray():
		return parseBatch(root, lim, dir)
	}
	return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request: body is not an object or array"}
}

func parseBatch(root gjson.Result, lim Limits, dir direction) (*Body, error) {
	// Count first, stopping at the limit, so an oversized batch costs one
	// skim rather than a parse of every message.
	n := 0
	root.ForEach(func(_, _ gjson.Result) bool {
		n++
		return n <= lim.MaxBatch
	})
	switch {
	case n == 0:
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request: empty batch"}
	case n > lim.MaxBatch:
		return nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("invalid request: batch larger than %d messages", lim.MaxBatch)}
	}
	b := &Body{Batch: true, Messages: make([]Message, 0, n)}
	var perr *Error
	root.ForEach(func(_, v gjson.Result) bool {
		m, err := parseMessage(v, dir)
		if err != nil {
			err.Index = len(b.Messages)
			perr = err
			return false
		}
		b.Messages = append(b.Messages, m)
		return true
	})
	if perr != nil {
		return nil, perr
	}
	if dir == fromClient {
		// Responses are matched to requests by id: two requests with one
		// id in a batch make that ambiguous.
		seen := make(map[string]bool, len(b.Messages))
		for i, m := range b.Messages {
			if m.Kind != KindRequest {
				continue
			}
			k := m.ID.Key()
			if seen[k] {
				return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request: id repeated in batch", ID: m.ID, Index: i}
			}
			seen[k] = true
		}
	}
	return b, nil
}

// envelope members, in the order of the fields array in parseMessage.
var envelopeKeys = []string{"jsonrpc", "id", "method", "params", "result", "error"}

func parseMessage(v gjson.Result, dir direction) (Message, *Error) {
	var m Message
	if !v.IsObject() {
		return m, invalid(ID{}, "message is not an object")
	}
	var f [6]gjson.Result
	if k, dup := members(v, envelopeKeys, f[:]); dup {
		return m, invalid(ID{}, fmt.Sprintf("member %q repeated or ambiguous", k))
	}
	jsonrpc, id, method, params, result, errv := f[0], f[1], f[2], f[3], f[4], f[5]

	if id.Exists() {
		switch id.Type {
		case gjson.String, gjson.Number, gjson.Null:
			m.ID = newID(id)
		default:
			return m, invalid(ID{}, "id must be a string or number")
		}
	}
	if jsonrpc.Type != gjson.String || jsonrpc.Str != "2.0" {
		return m, invalid(m.ID, `"jsonrpc" must be "2.0"`)
	}

	switch {
	case method.Exists():
		if method.Type != gjson.String || method.Str == "" {
			return m, invalid(m.ID, `"method" must be a non-empty string`)
		}
		if result.Exists() || errv.Exists() {
			return m, invalid(m.ID, "request carries a result or error")
		}
		m.Method = method.Str
		if lookalikeMethod(m.Method) {
			return m, invalid(m.ID, fmt.Sprintf("method %q is not an MCP method but resembles one", m.Method))
		}
		m.Kind = KindNotification
		if id.Exists() {
			m.Kind = KindRequest
		}
		if m.ID.IsNull() {
			return m, invalid(ID{}, "id must not be null on a request")
		}
		if id.Type == gjson.Number && !isInteger(id.Raw) {
			// MCP's RequestId is a string or an integer. 1.0 and 1 are the
			// same number to many servers but not to id matching.
			return m, invalid(ID{}, "a numeric id must be an integer")
		}
		if params.Exists() {
			if !params.IsObject() && !params.IsArray() {
				return m, invalid(m.ID, `"params" must be an object or array`)
			}
			m.Params = []byte(params.Raw)
		}
		if err := checkMethod(&m, params, dir); err != nil {
			return m, err
		}
	case result.Exists() && errv.Exists():
		return m, invalid(m.ID, "response carries both result and error")
	case result.Exists():
		if !id.Exists() || m.ID.IsNull() {
			return m, invalid(ID{}, "response needs a string or number id")
		}
		m.Kind = KindResponse
	case errv.Exists():
		if !id.Exists() {
			return m, invalid(ID{}, "error response needs an id")
		}
		code, msg := errv.Get("code"), errv.Get("message")
		if !errv.IsObject() || code.Type != gjson.Number || !isInteger(code.Raw) || msg.Type != gjson.String {
			return m, invalid(m.ID, `"error" must be an object with an integer "code" and a string "message"`)
		}
		m.Kind = KindError
	default:
		return m, invalid(m.ID, `missing "method", "result" or "error"`)
	}
	return m, nil
}

func isInteger(raw string) bool {
	return !strings.ContainsAny(raw, ".eE")
}

func invalid(id ID, msg string) *Error {
	return &Error{Code: CodeInvalidRequest, Message: "invalid request: " + msg, ID: id}
}

func invalidParams(id ID, msg string) *Error {
	return &Error{Code: CodeInvalidParams, Message: "invalid params: " + msg, ID: id}
}
