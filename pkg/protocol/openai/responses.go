package openai

import (
	"strings"

	"github.com/tidwall/gjson"
)

// responses reads a Responses body: instructions, input (a string or an
// array of items), the variables of a reusable prompt, and tools.
func (p *parser) responses(t top) *Error {
	switch t.instructions.Type {
	case gjson.String:
		first := len(p.req.Texts)
		if err := p.emitAt("instructions", t.instructions, "system", KindInstructions); err != nil {
			return err
		}
		if t.instructions.Str != "" {
			p.addMessage("system", first)
		}
	case gjson.Null:
	default:
		return Malformed(`"instructions" must be a string`)
	}
	switch {
	case t.input.Type == gjson.String:
		first := len(p.req.Texts)
		if err := p.emitAt("input", t.input, "user", KindInput); err != nil {
			return err
		}
		p.addMessage("user", first)
	case t.input.IsArray():
		err := p.member("input", func() *Error {
			return p.each(t.input, func(_ int, it gjson.Result) *Error { return p.responseItem(it) })
		})
		if err != nil {
			return err
		}
	case t.input.Exists() && t.input.Type != gjson.Null:
		return Malformed(`"input" must be a string or an array`)
	}
	if t.prompt.IsObject() {
		if err := p.member("prompt", func() *Error { return p.promptVariables(t.prompt) }); err != nil {
			return err
		}
	}
	return p.tools(t.tools, gjson.Result{})
}

// promptVariables reads prompt.variables: strings, or input parts.
func (p *parser) promptVariables(prompt gjson.Result) *Error {
	return p.keys.eachMember(prompt, func(k string, v gjson.Result) *Error {
		if k != "variables" || !v.IsObject() {
			return nil
		}
		return p.member(k, func() *Error {
			return p.keys.eachMember(v, func(name string, val gjson.Result) *Error {
				return p.member(name, func() *Error { return p.content(val, "user", KindInput) })
			})
		})
	})
}

// item holds the members of a Responses input item the codec reads.
type item struct {
	typ, role, content, name, arguments, input, callID, id, output, summary gjson.Result
}

func (p *parser) responseItem(it gjson.Result) *Error {
	if !it.IsObject() {
		return Malformed(`"input" items must be objects`)
	}
	var f item
	err := p.keys.eachMember(it, func(k string, v gjson.Result) *Error {
		switch k {
		case "type":
			f.typ = v
		case "role":
			f.role = v
		case "content":
			f.content = v
		case "name":
			f.name = v
		case "arguments":
			f.arguments = v
		case "input":
			f.input = v
		case "call_id":
			f.callID = v
		case "id":
			f.id = v
		case "output":
			f.output = v
		case "summary":
			f.summary = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	typ, err := optString(f.typ, "input[].type")
	if err != nil {
		return err
	}
	if typ == "" && f.role.Exists() {
		typ = "message"
	}
	switch {
	case typ == "message":
		return p.responseMessage(f)
	case typ == "function_call", typ == "custom_tool_call", typ == "mcp_call":
		return p.responseToolCall(typ, f)
	case strings.HasSuffix(typ, "_output"):
		first := len(p.req.Texts)
		if err := p.member("output", func() *Error { return p.content(f.output, "tool", KindToolResult) }); err != nil {
			return err
		}
		p.addMessage("tool", first)
	case typ == "reasoning":
		for _, m := range []struct {
			k string
			v gjson.Result
		}{{"summary", f.summary}, {"content", f.content}} {
			err := p.member(m.k, func() *Error { return p.content(m.v, "assistant", KindReasoning) })
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) responseMessage(f item) *Error {
	if f.role.Type != gjson.String || f.role.Str == "" {
		return Malformed(`each input message needs a non-empty string "role"`)
	}
	role := f.role.Str
	switch {
	case f.content.Type == gjson.String, f.content.IsArray():
	default:
		return Malformed(`input message "content" must be a string or an array`)
	}
	first := len(p.req.Texts)
	if err := p.member("content", func() *Error { return p.content(f.content, role, kindForRole(role)) }); err != nil {
		return err
	}
	p.addMessage(role, first)
	return nil
}

// responseToolCall reads a function_call, custom_tool_call or mcp_call item.
func (p *parser) responseToolCall(typ string, f item) *Error {
	var call ToolCall
	var err *Error
	idv, idName := f.callID, "call_id"
	if typ == "mcp_call" {
		idv, idName = f.id, "id"
	}
	if call.ID, err = optString(idv, "input[]."+idName); err != nil {
		return err
	}
	if call.Name, err = optString(f.name, "input[].name"); err != nil {
		return err
	}
	args, argName := f.arguments, "arguments"
	if typ == "custom_tool_call" {
		args, argName = f.input, "input"
	}
	if call.Arguments, err = optString(args, "input[]."+argName); err != nil {
		return err
	}
	if err := p.emitAt(argName, args, "assistant", KindToolArguments); err != nil {
		return err
	}
	p.req.ToolCalls = append(p.req.ToolCalls, call)
	if typ == "mcp_call" && f.output.Type == gjson.String {
		return p.emitAt("output", f.output, "tool", KindToolResult)
	}
	return nil
}
