package openai

import (
	"github.com/tidwall/gjson"
)

// content reads message content at the current path: a string, an array of
// content parts, or a part. Other JSON types carry no text and are skipped;
// callers check the top-level type the API allows.
func (p *parser) content(v gjson.Result, role, kind string) *Error {
	switch {
	case v.Type == gjson.String:
		return p.emit(role, kind, v.Str)
	case v.IsArray():
		return p.each(v, func(_ int, el gjson.Result) *Error { return p.content(el, role, kind) })
	case v.IsObject():
		return p.part(v, role, kind)
	}
	return nil
}

// part reads one content part. Its "text" and "refusal" strings are texts
// whatever the part's type, so parts of types this codec does not know are
// inspected too; a nested "content" is read the same way. Images, audio and
// files are not text.
func (p *parser) part(v gjson.Result, role, kind string) *Error {
	typ := ""
	if t := v.Get("type"); t.Type == gjson.String {
		typ = t.Str
	}
	return p.keys.eachMember(v, func(k string, m gjson.Result) *Error {
		switch k {
		case "text", "refusal":
			switch {
			case m.Type == gjson.String:
				return p.emitAt(k, m, role, kind)
			case k == "text" && isTextPart(typ):
				return Malformed(`a "` + typ + `" content part needs a string "text"`)
			}
		case "content":
			return p.member(k, func() *Error { return p.content(m, role, kind) })
		}
		return nil
	})
}

func isTextPart(typ string) bool {
	switch typ {
	case "text", "input_text", "output_text", "summary_text", "reasoning_text":
		return true
	}
	return false
}

// kindForRole is the Text kind of a message's content.
func kindForRole(role string) string {
	switch role {
	case "system", "developer":
		return KindSystem
	case "tool", "function":
		return KindToolResult
	}
	return KindMessage
}
