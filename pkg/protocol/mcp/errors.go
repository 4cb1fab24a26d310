package mcp

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Standard JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// agentguard's error codes, in the implementation-defined server-error range.
// See the package documentation for their meaning.
const (
	CodePolicyDenied    = -32051
	CodeRateLimited     = -32052
	CodeUnauthenticated = -32053
	CodeTooLarge        = -32054
	CodeUnavailable     = -32055
)

// Error is the JSON-RPC error a caller should send back for an invalid body.
type Error struct {
	Code    int
	Message string
	// ID is the offending message's id when it could be read; zero otherwise,
	// which renders as null.
	ID ID
	// Index is the offending message's position in a batch; 0 for a single message.
	Index int
	Data  map[string]string
}

func (e *Error) Error() string {
	if e.ID.IsZero() {
		return fmt.Sprintf("mcp: jsonrpc error %d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("mcp: jsonrpc error %d: %s (id %s)", e.Code, e.Message, e.ID)
}

// Body renders e as a JSON-RPC error response.
func (e *Error) Body() []byte { return ErrorBody(e.ID, e.Code, e.Message, e.Data) }

// ErrorBody renders a JSON-RPC error response for id; a zero id renders as
// null. The id is echoed byte-exact; message and data are JSON-encoded, and a
// nil or empty data map is omitted.
func ErrorBody(id ID, code int, message string, data map[string]string) []byte {
	return appendErrorBody(nil, id, code, message, data)
}

// ErrorEntry is one error response in a batch reply.
type ErrorEntry struct {
	ID      ID
	Code    int
	Message string
	Data    map[string]string
}

// BatchErrorBody renders a JSON array with one error response per entry that
// has an id. Entries with a zero ID (notifications) get none, as JSON-RPC
// requires; if no entry has an id it returns nil, meaning "send no body".
func BatchErrorBody(entries []ErrorEntry) []byte {
	var b []byte
	for _, e := range entries {
		if e.ID.IsZero() {
			continue
		}
		if b == nil {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendErrorBody(b, e.ID, e.Code, e.Message, e.Data)
	}
	if b == nil {
		return nil
	}
	return append(b, ']')
}

func appendErrorBody(b []byte, id ID, code int, message string, data map[string]string) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	if id.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, id.raw...)
	}
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = appendJSON(b, message)
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = appendJSON(b, data)
	}
	return append(b, "}}"...)
}

// appendJSON appends v encoded by encoding/json. Strings and string maps
// cannot fail to encode (invalid UTF-8 becomes U+FFFD).
func appendJSON(b []byte, v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, enc...)
}
