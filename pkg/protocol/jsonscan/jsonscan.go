// Package jsonscan holds the checks every codec runs on an untrusted JSON
// body before gjson reads it: UTF-8, a nesting bound found without
// recursion, and member names that occur twice in one object (gjson reads
// the first copy, Python and Go decoders the last, so policy and upstream
// could see different values). Codecs wrap the results in their own error
// shapes.
package jsonscan

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// CheckObject reports why b is not a JSON object within maxDepth, or "" if
// it is. The depth scan runs before gjson, whose validator recurses once per
// nesting level.
func CheckObject(b []byte, maxDepth int) string {
	if !utf8.Valid(b) {
		return "body is not valid UTF-8"
	}
	if !DepthWithin(b, maxDepth) {
		return "body is nested too deep"
	}
	if !gjson.ValidBytes(b) {
		return "body is not valid JSON"
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return ""
		}
		break
	}
	return "body is not a JSON object"
}

// DepthWithin reports whether no array or object in b nests deeper than max.
// It is one pass without recursion; string contents (including escaped
// quotes) are skipped so brackets inside strings don't count. Malformed
// input may pass; gjson rejects it afterwards with its recursion bounded.
func DepthWithin(b []byte, max int) bool {
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

// KeySet detects a member name repeated within one object. Objects nest, so
// it is a stack: each object's names sit above its parent's.
type KeySet struct {
	keys []string
}

// smallObject is the member count up to which a linear search beats a map.
const smallObject = 16

// EachMember calls fn for every member of obj in order, and stops at the
// first non-zero result of fn, or at a member name that occurs twice in obj,
// for which it returns dup(name). E is the codec's error type (a pointer).
func EachMember[E comparable](k *KeySet, obj gjson.Result, fn func(key string, v gjson.Result) E, dup func(name string) E) E {
	var zero, err E
	start := len(k.keys)
	var big map[string]struct{}
	obj.ForEach(func(key, v gjson.Result) bool {
		name := key.Str
		own := k.keys[start:]
		switch {
		case big != nil:
			if _, seen := big[name]; seen {
				err = dup(name)
				return false
			}
			big[name] = struct{}{}
		default:
			for _, s := range own {
				if s == name {
					err = dup(name)
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
		if err = fn(name, v); err != zero {
			return false
		}
		k.keys = k.keys[:start+len(own)+1]
		return true
	})
	clear(k.keys[start:])
	k.keys = k.keys[:start]
	return err
}
