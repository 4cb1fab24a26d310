package mcpservers

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Call is one JSON-RPC message (request or notification) that reached a
// server, as its receiving middleware saw it.
type Call struct {
	// Seq numbers the calls a log recorded, from 1.
	Seq int
	// Server is the name the server was built with ("github", "semgrep").
	Server string
	// Method is the JSON-RPC method: "initialize", "tools/list",
	// "tools/call", "notifications/initialized", ...
	Method string
	// Tool and Arguments are set for "tools/call": the tool name and the
	// arguments exactly as they arrived on the wire.
	Tool      string
	Arguments json.RawMessage
	// SessionID is the server session's id (the Mcp-Session-Id of a stateful
	// Streamable HTTP session; empty when stateless).
	SessionID string
	// Header holds the HTTP request headers the message arrived with (nil
	// for transports without HTTP).
	Header http.Header
}

// CallLog records the calls a server received. It is safe for concurrent
// use; the zero value is ready to use.
type CallLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *CallLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Seq = len(l.calls) + 1
	l.calls = append(l.calls, c)
}

// Calls returns a copy of every call recorded so far, in arrival order.
func (l *CallLog) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Call, len(l.calls))
	copy(out, l.calls)
	return out
}

// ToolCalls returns the "tools/call" calls for the named tool, or for every
// tool when name is empty.
func (l *CallLog) ToolCalls(name string) []Call {
	var out []Call
	for _, c := range l.Calls() {
		if c.Method == "tools/call" && (name == "" || c.Tool == name) {
			out = append(out, c)
		}
	}
	return out
}

// Methods returns the method of every recorded call, in arrival order.
func (l *CallLog) Methods() []string {
	calls := l.Calls()
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method
	}
	return out
}

// Len reports how many calls were recorded.
func (l *CallLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// Reset forgets every recorded call.
func (l *CallLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// recorder is receiving middleware that records every incoming message in
// log before the server handles it.
func recorder(server string, log *CallLog) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			c := Call{Server: server, Method: method}
			if s := req.GetSession(); s != nil {
				c.SessionID = s.ID()
			}
			if extra := req.GetExtra(); extra != nil && extra.Header != nil {
				c.Header = extra.Header.Clone()
			}
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && p != nil {
				c.Tool = p.Name
				c.Arguments = append(json.RawMessage(nil), p.Arguments...)
			}
			log.add(c)
			return next(ctx, method, req)
		}
	}
}
