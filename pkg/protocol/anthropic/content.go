package anthropic

import (
	"strings"

	"github.com/tidwall/gjson"
)

// content reads content at the current path: a string, an array of
// blocks, or a block. Other JSON types carry no text and are skipped;
// callers check the top-level type the API allows.
func (p *parser) content(v gjson.Result, role, kind string) *Error {
	switch {
	case v.Type == gjson.String:
		return p.emit(role, kind, v.Str)
	case v.IsArray():
		return p.each(v, func(el gjson.Result) *Error { return p.content(el, role, kind) })
	case v.IsObject():
		return p.block(v, role, kind)
	}
	return nil
}

// block reads one content block by member, whatever its type (see the
// package documentation).
func (p *parser) block(v gjson.Result, role, kind string) *Error {
	typ := ""
	if t := v.Get("type"); t.Type == gjson.String {
		typ = t.Str
	}
	if strings.HasSuffix(typ, "tool_result") {
		kind = KindToolResult
	}
	toolUse := strings.HasSuffix(typ, "tool_use")
	var call ToolCall
	err := p.keys.eachMember(v, func(k string, m gjson.Result) *Error {
		switch k {
		case "text":
			switch {
			case m.Type == gjson.String:
				return p.member(k, func() *Error { return p.emit(role, kind, m.Str) })
			case typ == "text":
				return Malformed(`a "text" block needs a string "text"`)
			}
		case "thinking":
			if m.Type == gjson.String {
				return p.member(k, func() *Error { return p.emit(role, KindReasoning, m.Str) })
			}
		case "content":
			return p.member(k, func() *Error { return p.content(m, role, kind) })
		case "source":
			if m.IsObject() {
				return p.member(k, func() *Error { return p.source(m, role) })
			}
		case "context":
			if typ == "document" && m.Type == gjson.String {
				return p.member(k, func() *Error { return p.emit(role, KindDocument, m.Str) })
			}
		case "input":
			if toolUse {
				call.Arguments = m.Raw
				return p.member(k, func() *Error { return p.leaves(m, role) })
			}
		case "id", "name":
			if toolUse {
				s, err := optString(m, typ+"."+k)
				if k == "id" {
					call.ID = s
				} else {
					call.Name = s
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if toolUse {
		p.req.ToolCalls = append(p.req.ToolCalls, call)
	}
	return nil
}

// source reads a document source: plain text ("type": "text", "data") or
// content blocks ("type": "content", "content"). Base64 and URL sources are
// not text.
func (p *parser) source(v gjson.Result, role string) *Error {
	typ := v.Get("type").String()
	return p.keys.eachMember(v, func(k string, m gjson.Result) *Error {
		switch {
		case typ == "text" && k == "data" && m.Type == gjson.String:
			return p.member(k, func() *Error { return p.emit(role, KindDocument, m.Str) })
		case typ == "content" && k == "content":
			return p.member(k, func() *Error { return p.content(m, role, KindDocument) })
		}
		return nil
	})
}

// leaves records every string inside a tool call's input.
func (p *parser) leaves(v gjson.Result, role string) *Error {
	switch {
	case v.Type == gjson.String:
		return p.emit(role, KindToolArguments, v.Str)
	case v.IsArray():
		return p.each(v, func(el gjson.Result) *Error { return p.leaves(el, role) })
	case v.IsObject():
		return p.keys.eachMember(v, func(k string, m gjson.Result) *Error {
			return p.member(k, func() *Error { return p.leaves(m, role) })
		})
	}
	return nil
}
