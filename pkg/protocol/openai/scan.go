package openai

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"
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
// JSON object, in that order: the depth scan must come before gjson, whose
// validator recurses once per nesting level.
func checkJSON(b []byte, maxDepth int) *Error {
	if !utf8.Valid(b) {
		return Malformed("body is not valid UTF-8")
	}
	if !depthWithin(b, maxDepth) {
		return Malformed("body is nested too deep")
	}
	if !gjson.ValidBytes(b) {
		return Malformed("body is not valid JSON")
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return nil
		}
		break
	}
	return Malformed("body is not a JSON object")
}

// depthWithin reports whether no array or object in b nests deeper than max.
// It is one pass without recursion; string contents (including escaped
// quotes) are skipped so brackets inside strings don't count. Malformed input
// may pass; gjson rejects it afterwards with its recursion already bounded.
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

// keySet detects a member name repeated within one object. Objects nest, so
// it is a stack: each object's names sit above its parent's.
type keySet struct {
	keys []string
}

// smallObject is the member count up to which a linear search beats a map.
const smallObject = 16

// eachMember calls fn for every member of obj in order. It fails with a 400
// on a member name that occurs twice (gjson reads the first copy, Python and
// Go decoders the last) or on the first error fn returns.
func (k *keySet) eachMember(obj gjson.Result, fn func(key string, v gjson.Result) *Error) *Error {
	start := len(k.keys)
	var big map[string]struct{}
	var err *Error
	obj.ForEach(func(key, v gjson.Result) bool {
		name := key.Str
		own := k.keys[start:]
		switch {
		case big != nil:
			if _, dup := big[name]; dup {
				err = Malformed("member " + quote(name) + " repeated in an object")
				return false
			}
			big[name] = struct{}{}
		default:
			for _, s := range own {
				if s == name {
					err = Malformed("member " + quote(name) + " repeated in an object")
					return false
				}
			}
			if len(own) >= smallObject {
				big = make(map[string]struct{}, 2*smallObject)
				for _, s := range own {
					big[s] = struct{}{}
				}
				big[name] = struct{}{}
			}
		}
		k.keys = append(k.keys, name)
		if err = fn(name, v); err != nil {
			return false
		}
		k.keys = k.keys[:start+len(own)+1]
		return true
	})
	clear(k.keys[start:])
	k.keys = k.keys[:start]
	return err
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return string(appendString(nil, s))
}
