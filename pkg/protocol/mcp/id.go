package mcp

import "github.com/tidwall/gjson"

// ID is a JSON-RPC id: a string or a number (integer or not), kept as its raw
// JSON text so it is echoed back byte-exact, big integers and escapes included.
// The zero ID means "no id" (a notification); an error response may carry the
// JSON null id, which is not zero.
type ID struct{ raw []byte }

// ParseID returns the ID whose JSON text is raw: a string, a number or null.
func ParseID(raw []byte) (ID, bool) {
	if !gjson.ValidBytes(raw) {
		return ID{}, false
	}
	switch gjson.ParseBytes(raw).Type {
	case gjson.String, gjson.Number, gjson.Null:
		return ID{raw: trimSpace(raw)}, true
	}
	return ID{}, false
}

// IsZero reports whether the message had no id.
func (id ID) IsZero() bool { return len(id.raw) == 0 }

// IsNull reports whether the id is JSON null (only valid on error responses).
func (id ID) IsNull() bool { return string(id.raw) == "null" }

// Raw returns the id's JSON text, e.g. `7` or `"abc"`; nil for the zero ID.
// The caller must not modify it.
func (id ID) Raw() []byte { return id.raw }

// String returns the raw JSON text, for logs. Being JSON, it has no raw
// control characters.
func (id ID) String() string { return string(id.raw) }

// Key returns a comparable form of the id for matching responses to requests:
// string ids compare by their unescaped value ("a" equals "\u0061"), numbers by
// their text (1 and 1.0 differ: re-encoding numbers would lose big integers).
// The zero ID's key is "".
func (id ID) Key() string {
	if len(id.raw) == 0 {
		return ""
	}
	if id.raw[0] == '"' {
		return "s" + gjson.ParseBytes(id.raw).Str
	}
	return "n" + string(id.raw)
}

// Equal reports whether two ids identify the same request; see [ID.Key].
func (id ID) Equal(o ID) bool { return id.Key() == o.Key() }

func newID(r gjson.Result) ID { return ID{raw: []byte(r.Raw)} }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
