package mcp

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"
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

// depthWithin reports whether no array or object in b nests deeper than max.
// It is one pass without recursion; string contents (including escaped
// quotes) are skipped so brackets inside strings don't count. Malformed input
// may pass; gjson rejects it afterwards with its recursion already bounded,
// because in any valid prefix gjson's depth equals the count kept here.
func depthWithin(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b); i++ {
				if b[i] == '\\' {
					i++
				} else if b[i] == '"' {
					break
				}
			}
		case '[', '{':
			depth++
			if depth > max {
				return false
			}
		case ']', '}':
			depth--
		}
	}
	return true
}
