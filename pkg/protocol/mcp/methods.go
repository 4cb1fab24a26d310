package mcp

import (
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
)

// clientRequests lists MCP methods that are requests (never notifications)
// and whether every revision that defines them requires params.
var clientRequests = map[string]bool{
	"initialize":               true,
	"ping":                     false,
	"tools/list":               false,
	"tools/call":               true,
	"resources/list":           false,
	"resources/templates/list": false,
	"resources/read":           true,
	"resources/subscribe":      true,
	"resources/unsubscribe":    true,
	"prompts/list":             false,
	"prompts/get":              true,
	"logging/setLevel":         true,
	"completion/complete":      true,
	"server/discover":          false,
	"subscriptions/listen":     false,
	"tasks/get":                true,
	"tasks/result":             true,
	"tasks/list":               false,
	"tasks/cancel":             true,
}

var (
	toolKeys   = []string{"name", "arguments"}
	uriKeys    = []string{"uri"}
	promptKeys = []string{"name"}
)

// checkMethod applies MCP's per-method rules and fills the fields policy reads.
func checkMethod(m *Message, params gjson.Result, dir direction) *Error {
	if strings.HasPrefix(m.Method, "notifications/") && m.Kind == KindRequest {
		return invalid(m.ID, fmt.Sprintf("unexpected id for %q", m.Method))
	}
	if dir != fromClient {
		return nil
	}
	needParams, known := clientRequests[m.Method]
	if !known {
		return nil
	}
	if m.Kind == KindNotification {
		return invalid(ID{}, fmt.Sprintf("%q is a request and needs an id", m.Method))
	}
	if !params.Exists() {
		if needParams {
			return invalidParams(m.ID, fmt.Sprintf("%q requires params", m.Method))
		}
		return nil
	}
	if !params.IsObject() {
		return invalidParams(m.ID, "params must be an object")
	}
	var f [2]gjson.Result
	switch m.Method {
	case "tools/call":
		if k, dup := members(params, toolKeys, f[:]); dup {
			return invalidParams(m.ID, fmt.Sprintf("params member %q repeated or ambiguous", k))
		}
		name, args := f[0], f[1]
		if name.Type != gjson.String || name.Str == "" {
			return invalidParams(m.ID, "params.name must be a non-empty string")
		}
		m.Tool = name.Str
		if args.Exists() {
			if !args.IsObject() {
				return invalidParams(m.ID, "params.arguments must be an object")
			}
			if k, dup := jsonscan.RepeatedMember(args); dup { // a server decoding into Go structs matches names case-insensitively
				return invalidParams(m.ID, fmt.Sprintf("params.arguments member %q repeated or ambiguous", k))
			}
			m.Arguments = []byte(args.Raw)
		}
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		if k, dup := members(params, uriKeys, f[:1]); dup {
			return invalidParams(m.ID, fmt.Sprintf("params member %q repeated or ambiguous", k))
		}
		if f[0].Type != gjson.String {
			return invalidParams(m.ID, "params.uri must be a string")
		}
		m.ResourceURI = f[0].Str
	case "prompts/get":
		if k, dup := members(params, promptKeys, f[:1]); dup {
			return invalidParams(m.ID, fmt.Sprintf("params member %q repeated or ambiguous", k))
		}
		if f[0].Type != gjson.String {
			return invalidParams(m.ID, "params.name must be a string")
		}
		m.Prompt = f[0].Str
	}
	return nil
}

// members reads the named members of obj into out (same order as names) in
// one pass. It reports a name that occurs twice, or also in another case
// (by Unicode folding, so "Name", "NAME" and "ſ" for "s" count): gjson reads
// the first exact copy, while other decoders keep the last, and Go's
// encoding/json matches struct fields case-insensitively. Policy must see what
// the server will, so such bodies are refused.
func members(obj gjson.Result, names []string, out []gjson.Result) (string, bool) {
	var dup string
	obj.ForEach(func(k, v gjson.Result) bool {
		for i, n := range names {
			switch {
			case k.Str == n:
				if out[i].Exists() {
					dup = n
					return false
				}
				out[i] = v
			case strings.EqualFold(k.Str, n):
				dup = k.Str
				return false
			}
		}
		return true
	})
	return dup, dup != ""
}

// MethodLabel returns method when MCP defines it, else "other": a bounded
// value for metric labels, whatever clients send.
func MethodLabel(method string) string {
	if _, ok := clientRequests[method]; ok {
		return method
	}
	switch method {
	case "":
		return "none"
	case "notifications/initialized", "notifications/cancelled", "notifications/progress",
		"notifications/roots/list_changed":
		return method
	}
	return "other"
}

// lookalikeMethod reports whether method is not an MCP method but folds onto
// one ("Tools/call", "tools/call "): servers dispatch on the exact string,
// yet some route case-insensitively, and policy keys on the exact one.
func lookalikeMethod(method string) bool {
	folded := strings.ToLower(strings.TrimSpace(norm.NFKC.String(method)))
	if folded == method {
		return false // canonical: known or not, it resembles nothing else
	}
	_, known := clientRequests[folded]
	return known || strings.HasPrefix(folded, "notifications/")
}
