package openai

import (
	"github.com/tidwall/gjson"
)

// chat reads a Chat Completions body.
func (p *parser) chat(t top) *Error {
	if !t.messages.IsArray() {
		return Malformed(`"messages" must be an array`)
	}
	err := p.member("messages", func() *Error {
		return p.each(t.messages, func(_ int, m gjson.Result) *Error { return p.chatMessage(m) })
	})
	if err != nil {
		return err
	}
	if t.prediction.IsObject() {
		err = p.member("prediction", func() *Error {
			return p.keys.eachMember(t.prediction, func(k string, v gjson.Result) *Error {
				if k != "content" {
					return nil
				}
				return p.member(k, func() *Error { return p.content(v, "assistant", KindPrediction) })
			})
		})
		if err != nil {
			return err
		}
	}
	return p.tools(t.tools, t.functions)
}

func (p *parser) chatMessage(m gjson.Result) *Error {
	if !m.IsObject() {
		return Malformed(`"messages" entries must be objects`)
	}
	var role, content, toolCalls, functionCall gjson.Result
	err := p.keys.eachMember(m, func(k string, v gjson.Result) *Error {
		switch k {
		case "role":
			role = v
		case "content":
			content = v
		case "tool_calls":
			toolCalls = v
		case "function_call":
			functionCall = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if role.Type != gjson.String || role.Str == "" {
		return Malformed(`each message needs a non-empty string "role"`)
	}
	switch {
	case content.Type == gjson.String, content.IsArray(), content.Type == gjson.Null:
	default:
		return Malformed(`message "content" must be a string, an array or null`)
	}
	first := len(p.req.Texts)
	err = p.member("content", func() *Error { return p.content(content, role.Str, kindForRole(role.Str)) })
	if err != nil {
		return err
	}
	switch {
	case toolCalls.IsArray():
		err = p.member("tool_calls", func() *Error {
			return p.each(toolCalls, func(_ int, c gjson.Result) *Error { return p.chatToolCall(c, role.Str) })
		})
	case toolCalls.Exists() && toolCalls.Type != gjson.Null:
		err = Malformed(`"tool_calls" must be an array`)
	}
	if err != nil {
		return err
	}
	if functionCall.IsObject() {
		err = p.member("function_call", func() *Error { return p.chatFunction(functionCall, "", role.Str) })
		if err != nil {
			return err
		}
	}
	p.addMessage(role.Str, first)
	return nil
}

// chatToolCall reads one entry of tool_calls: {id, type, function|custom}.
func (p *parser) chatToolCall(c gjson.Result, role string) *Error {
	if !c.IsObject() {
		return Malformed(`"tool_calls" entries must be objects`)
	}
	var id string
	var fn gjson.Result
	var fnKey string
	err := p.keys.eachMember(c, func(k string, v gjson.Result) *Error {
		var err *Error
		switch k {
		case "id":
			id, err = optString(v, "tool_calls[].id")
		case "function", "custom":
			if v.IsObject() {
				fn, fnKey = v, k
			}
		}
		return err
	})
	if err != nil || !fn.Exists() {
		return err
	}
	return p.member(fnKey, func() *Error { return p.chatFunction(fn, id, role) })
}

// chatFunction reads {name, arguments} (or a custom tool's {name, input})
// at the current path.
func (p *parser) chatFunction(fn gjson.Result, id, role string) *Error {
	call := ToolCall{ID: id}
	err := p.keys.eachMember(fn, func(k string, v gjson.Result) *Error {
		var err *Error
		switch k {
		case "name":
			call.Name, err = optString(v, "function.name")
		case "arguments", "input":
			if call.Arguments, err = optString(v, "function."+k); err == nil {
				err = p.emitAt(k, v, role, KindToolArguments)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	p.req.ToolCalls = append(p.req.ToolCalls, call)
	return nil
}

// completions reads a legacy Completions body: prompt (a string, strings or
// token arrays) and suffix.
func (p *parser) completions(t top) *Error {
	if err := p.inputs("prompt", t.prompt, "user", KindPrompt, false); err != nil {
		return err
	}
	switch t.suffix.Type {
	case gjson.String:
		return p.emitAt("suffix", t.suffix, "user", KindPrompt)
	case gjson.Null:
		return nil
	}
	return Malformed(`"suffix" must be a string`)
}

// embeddings reads an Embeddings body; input is required.
func (p *parser) embeddings(t top) *Error {
	return p.inputs("input", t.input, "input", KindInput, true)
}

// inputs reads a string, or an array of strings, token ids or token id
// arrays, adding one Message per string.
func (p *parser) inputs(name string, v gjson.Result, role, kind string, required bool) *Error {
	one := func(s gjson.Result) *Error {
		first := len(p.req.Texts)
		if err := p.emit(role, kind, s.Str); err != nil {
			return err
		}
		p.addMessage(role, first)
		return nil
	}
	switch {
	case v.Type == gjson.String:
		return p.member(name, func() *Error { return one(v) })
	case v.IsArray():
		return p.member(name, func() *Error {
			return p.each(v, func(_ int, el gjson.Result) *Error {
				switch {
				case el.Type == gjson.String:
					return one(el)
				case el.Type == gjson.Number, el.IsArray():
					return nil // token ids
				}
				return Malformed(`"` + name + `" must be a string or an array of strings or tokens`)
			})
		})
	case !v.Exists() || v.Type == gjson.Null:
		if required {
			return Malformed(`"` + name + `" is required`)
		}
		return nil
	}
	return Malformed(`"` + name + `" must be a string or an array`)
}
