// Package jsonscan holds the checks every codec runs on an untrusted JSON
// body before gjson reads it: UTF-8, a nesting bound found without
// recursion, and member names that occur twice in one object (gjson reads
// the first copy, Python and Go decoders the last, so policy and upstream
// could see different values). Codecs wrap the results in their own error
// shapes.
package jsonscan

import (
	"strconv"
	"strings"
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

// OptBool reads an optional boolean member; null counts as absent. ok is
// false when the value has another type.
func OptBool(v gjson.Result) (b, ok bool) {
	switch v.Type {
	case gjson.Null, gjson.False:
		return false, true
	case gjson.True:
		return true, true
	}
	return false, false
}

// OptInt reads an optional non-negative integer member; null counts as
// absent. ok is false for any other value.
func OptInt(v gjson.Result) (int64, bool) {
	switch v.Type {
	case gjson.Null:
		return 0, true
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// OptString reads an optional string member; null counts as absent. ok is
// false when the value has another type.
func OptString(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.Null:
		return "", true
	case gjson.String:
		return v.Str, true
	}
	return "", false
}

// Path is the gjson path of the value a walker is reading, built as it
// descends, so every text found can be rewritten later with sjson at
// exactly its place. Key and Index return a mark for Pop.
type Path struct {
	b []byte
}

// Key descends into member k.
func (p *Path) Key(k string) int {
	n := len(p.b)
	if n > 0 {
		p.b = append(p.b, '.')
	}
	p.b = append(p.b, gjson.Escape(k)...)
	return n
}

// Index descends into array element i.
func (p *Path) Index(i int) int {
	n := len(p.b)
	if n > 0 {
		p.b = append(p.b, '.')
	}
	p.b = strconv.AppendInt(p.b, int64(i), 10)
	return n
}

// Pop returns to the mark Key or Index gave.
func (p *Path) Pop(mark int) { p.b = p.b[:mark] }

func (p *Path) String() string { return string(p.b) }

// RepeatedMember reports the first member name that occurs twice in one
// object, at any depth of v, names compared case-folded: gjson reads the
// first copy, most decoders the last, and Go's decodes into structs
// case-insensitively, so a message that repeats a name cannot be read as
// its receiver will read it. Callers bound v's depth first (DepthWithin).
func RepeatedMember(v gjson.Result) (string, bool) {
	if !v.IsObject() && !v.IsArray() {
		return "", false
	}
	var (
		seen map[string]struct{}
		key  string
		dup  bool
	)
	if v.IsObject() {
		seen = make(map[string]struct{})
	}
	v.ForEach(func(k, c gjson.Result) bool {
		if seen != nil {
			f := strings.ToLower(strings.ToUpper(k.Str))
			if _, ok := seen[f]; ok {
				key, dup = k.Str, true
				return false
			}
			seen[f] = struct{}{}
		}
		key, dup = RepeatedMember(c)
		return !dup
	})
	return key, dup
}
