package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
)

// Limits bound the work a request body can cause.
type Limits struct {
	MaxDepth int // nesting of arrays and objects; 0 means 64
	MaxTexts int // Texts in one request; 0 means 10000
}

// Defaults applied to zero Limits fields.
const (
	DefaultMaxDepth = 64
	DefaultMaxTexts = 10000
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTexts <= 0 {
		l.MaxTexts = DefaultMaxTexts
	}
	return l
}

// checkJSON rejects bodies that are not UTF-8, nest too deep, or are not a
// JSON object (jsonscan.CheckObject), as a 400 in the provider's shape.
func checkJSON(b []byte, maxDepth int) *Error {
	if why := jsonscan.CheckObject(b, maxDepth); why != "" {
		return Malformed(why)
	}
	return nil
}

func depthWithin(b []byte, max int) bool { return jsonscan.DepthWithin(b, max) }

// keySet detects a member name repeated within one object (jsonscan.KeySet).
type keySet struct {
	ks jsonscan.KeySet
}

// eachMember calls fn for every member of obj in order; a member name that
// occurs twice is a 400.
func (k *keySet) eachMember(obj gjson.Result, fn func(key string, v gjson.Result) *Error) *Error {
	return jsonscan.EachMember(&k.ks, obj, fn, func(name string) *Error {
		return Malformed("member " + quote(name) + " repeated in an object")
	})
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return string(appendString(nil, s))
}
