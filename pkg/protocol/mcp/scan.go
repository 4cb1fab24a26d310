package mcp

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
)

// Limits bound the work a request body can cause.
type Limits struct {
	MaxBatch int // messages in one batch; 0 means 100
	MaxDepth int // nesting of arrays and objects; 0 means 64
}

// Defaults applied to zero Limits fields.
const (
	DefaultMaxBatch = 100
	DefaultMaxDepth = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBatch <= 0 {
		l.MaxBatch = DefaultMaxBatch
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// checkJSON rejects bodies that are not UTF-8, nest too deep, or are not JSON,
// in that order: the depth scan must come before gjson, whose validator
// recurses once per nesting level.
func checkJSON(b []byte, maxDepth int) *Error {
	if !utf8.Valid(b) {
		return &Error{Code: CodeParseError, Message: "parse error: body is not valid UTF-8"}
	}
	if !depthWithin(b, maxDepth) {
		return &Error{Code: CodeParseError, Message: "parse error: JSON nested too deep"}
	}
	if !gjson.ValidBytes(b) {
		return &Error{Code: CodeParseError, Message: "parse error: body is not valid JSON"}
	}
	return nil
}

// depthWithin bounds nesting without recursion (jsonscan.DepthWithin).
func depthWithin(b []byte, max int) bool { return jsonscan.DepthWithin(b, max) }
