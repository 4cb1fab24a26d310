package mcp

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

// ErrNotToolsList is returned by FilterToolsList for a message that is not a
// tools/list result.
var ErrNotToolsList = errors.New("mcp: not a tools/list result")

var resultKeys = []string{"result"}
var toolsKeys = []string{"tools"}
var nameKeys = []string{"name"}

// FilterToolsList rewrites a tools/list response (one JSON-RPC response
// object) to keep only the tools for which keep(name) is true, in their
// original order. Only the tools array is rewritten; every other byte of the
// message, including unknown members and nextCursor, is kept. It returns the
// new bytes and whether any tool was removed; unchanged input is returned as
// is.
//
// A shape it cannot filter safely is an error (wrapping ErrNotToolsList), so
// the caller can fail closed: not a JSON-RPC result, no result.tools array, a
// tool that is not an object or lacks a string name, or a repeated or
// case-varied "result", "tools" or "name" member (a client reading another
// copy would see tools that were never filtered).
func FilterToolsList(resp []byte, keep func(name string) bool) ([]byte, bool, error) {
	if err := checkJSON(resp, DefaultMaxDepth); err != nil {
		return nil, false, fmt.Errorf("%w: %s", ErrNotToolsList, err.Message)
	}
	root := gjson.ParseBytes(resp)
	if !root.IsObject() {
		return nil, false, fmt.Errorf("%w: not an object", ErrNotToolsList)
	}
	var f [1]gjson.Result
	if k, dup := members(root, resultKeys, f[:]); dup {
		return nil, false, fmt.Errorf("%w: member %q repeated or ambiguous", ErrNotToolsList, k)
	}
	result := f[0]
	if !result.IsObject() {
		return nil, false, fmt.Errorf("%w: no result object", ErrNotToolsList)
	}
	f[0] = gjson.Result{}
	if k, dup := members(result, toolsKeys, f[:]); dup {
		return nil, false, fmt.Errorf("%w: result member %q repeated or ambiguous", ErrNotToolsList, k)
	}
	tools := f[0]
	if !tools.IsArray() {
		return nil, false, fmt.Errorf("%w: result.tools is not an array", ErrNotToolsList)
	}

	var (
		kept    = make([]byte, 0, len(tools.Raw))
		removed bool
		ferr    error
	)
	kept = append(kept, '[')
	tools.ForEach(func(_, tool gjson.Result) bool {
		var n [1]gjson.Result
		if !tool.IsObject() {
			ferr = fmt.Errorf("%w: a tool is not an object", ErrNotToolsList)
			return false
		}
		if _, dup := members(tool, nameKeys, n[:]); dup {
			ferr = fmt.Errorf("%w: a tool repeats or case-varies \"name\"", ErrNotToolsList)
			return false
		}
		if n[0].Type != gjson.String {
			ferr = fmt.Errorf("%w: a tool has no string name", ErrNotToolsList)
			return false
		}
		if !keep(n[0].Str) {
			removed = true
			return true
		}
		if len(kept) > 1 {
			kept = append(kept, ',')
		}
		kept = append(kept, tool.Raw...)
		return true
	})
	if ferr != nil {
		return nil, false, ferr
	}
	if !removed {
		return resp, false, nil
	}
	kept = append(kept, ']')
	out, err := splice(resp, tools, kept)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// splice replaces the value r, found inside b, with repl. gjson records where
// a value sits (Index); it is checked against the bytes, and if it does not
// match the rewrite is refused rather than guessed.
func splice(b []byte, r gjson.Result, repl []byte) ([]byte, error) {
	i := r.Index
	if i <= 0 || i+len(r.Raw) > len(b) || string(b[i:i+len(r.Raw)]) != r.Raw {
		return nil, fmt.Errorf("%w: cannot locate result.tools", ErrNotToolsList)
	}
	out := make([]byte, 0, len(b)-len(r.Raw)+len(repl))
	out = append(out, b[:i]...)
	out = append(out, repl...)
	return append(out, b[i+len(r.Raw):]...), nil
}
