package anthropic

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
)

// Text is one string of a request that reaches the model, wherever it
// stands. Path is its gjson path (also valid for sjson), so
// gjson.GetBytes(body, Path).Str == Value.
type Text struct {
	Path  string // e.g. "messages.1.content.0.text"
	Role  string // role of the message holding it; "system" for the system prompt
	Kind  string // see the Kind constants
	Value string
}

// Text kinds.
const (
	KindSystem        = "system"              // the system prompt
	KindMessage       = "message"             // user or assistant text
	KindToolResult    = "tool_result"         // content of a tool_result (or mcp_tool_result, …) block
	KindToolArguments = "tool_call_arguments" // a string inside a tool_use block's input
	KindReasoning     = "reasoning"           // a thinking block sent back
	KindDocument      = "document"            // a plain-text document source or its context
)

// Message is one message of the conversation with its text.
type Message struct {
	Role string
	// Text is the message's Texts joined with "\n", tool results included,
	// tool call arguments and reasoning left out.
	Text string
}

// ToolCall is a tool_use (or server_tool_use, mcp_tool_use) block found in
// the request history. Arguments is the raw JSON of its input.
type ToolCall struct {
	ID, Name, Arguments string
}

// Request is the parsed view of a request body.
type Request struct {
	Endpoint     Endpoint
	Model        string
	Stream       bool
	MaxTokens    int64 // max_tokens; 0 when absent
	IncludeUsage bool  // always false: Anthropic streams always carry usage
	Messages     []Message
	Texts        []Text
	Tools        []string // declared tool names, tools[].name
	ToolCalls    []ToolCall
}

// ParseRequest parses and validates a request body for ep. It checks, in
// order: UTF-8, nesting depth, JSON syntax, a top-level object, then the
// members it reads: model (a non-empty string), stream, max_tokens, system,
// messages (required, an array of objects with a string role and string or
// array content) and tools. A member name repeated in any object it reads is
// rejected. Members it does not read are not checked; max_tokens is not
// required (the provider enforces that).
//
// Errors are *Error: Malformed (400) for invalid bodies, TooLarge (413) when
// the request holds more than Limits.MaxTexts texts.
func ParseRequest(ep Endpoint, body []byte, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	if ep != Messages && ep != CountTokens {
		return nil, Malformed("unsupported endpoint")
	}
	if err := checkJSON(body, lim.MaxDepth); err != nil {
		return nil, err
	}
	p := &parser{lim: lim, req: &Request{Endpoint: ep}}
	if err := p.parse(gjson.ParseBytes(body)); err != nil {
		return nil, err
	}
	return p.req, nil
}

type parser struct {
	lim  Limits
	req  *Request
	keys keySet
	path jsonscan.Path // where the walk is
}

func (p *parser) parse(root gjson.Result) *Error {
	var model, stream, maxTokens, system, messages, tools gjson.Result
	err := p.keys.eachMember(root, func(k string, v gjson.Result) *Error {
		switch k {
		case "model":
			model = v
		case "stream":
			stream = v
		case "max_tokens":
			maxTokens = v
		case "system":
			system = v
		case "messages":
			messages = v
		case "tools":
			tools = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	r := p.req
	if model.Type != gjson.String || model.Str == "" {
		return Malformed(`"model" must be a non-empty string`)
	}
	r.Model = model.Str
	if r.Stream, err = optBool(stream, "stream"); err != nil {
		return err
	}
	if r.MaxTokens, err = optInt(maxTokens, "max_tokens"); err != nil {
		return err
	}
	switch {
	case system.Type == gjson.String, system.IsArray():
		first := len(r.Texts)
		if err := p.member("system", func() *Error { return p.content(system, "system", KindSystem) }); err != nil {
			return err
		}
		if len(r.Texts) > first {
			p.addMessage("system", first)
		}
	case system.Exists() && system.Type != gjson.Null:
		return Malformed(`"system" must be a string or an array of content blocks`)
	}
	if !messages.IsArray() {
		return Malformed(`"messages" must be an array`)
	}
	err = p.member("messages", func() *Error {
		return p.each(messages, func(m gjson.Result) *Error { return p.message(m) })
	})
	if err != nil {
		return err
	}
	return p.tools(tools)
}

func (p *parser) message(m gjson.Result) *Error {
	if !m.IsObject() {
		return Malformed(`"messages" entries must be objects`)
	}
	var role, content gjson.Result
	err := p.keys.eachMember(m, func(k string, v gjson.Result) *Error {
		switch k {
		case "role":
			role = v
		case "content":
			content = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if role.Type != gjson.String || role.Str == "" {
		return Malformed(`each message needs a non-empty string "role"`)
	}
	if content.Type != gjson.String && !content.IsArray() {
		return Malformed(`message "content" must be a string or an array of content blocks`)
	}
	first := len(p.req.Texts)
	if err := p.member("content", func() *Error { return p.content(content, role.Str, KindMessage) }); err != nil {
		return err
	}
	p.addMessage(role.Str, first)
	return nil
}

func (p *parser) tools(v gjson.Result) *Error {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return Malformed(`"tools" must be an array`)
	}
	var err *Error
	v.ForEach(func(_, tool gjson.Result) bool {
		if !tool.IsObject() {
			err = Malformed(`"tools" entries must be objects`)
			return false
		}
		err = p.keys.eachMember(tool, func(k string, v gjson.Result) *Error {
			if k != "name" {
				return nil
			}
			s, err := optString(v, "tools[].name")
			if s != "" {
				p.req.Tools = append(p.req.Tools, s)
			}
			return err
		})
		return err == nil
	})
	return err
}

// The opt helpers read optional members (null counts as absent) and turn a
// wrong type into a 400 naming the member.
func optBool(v gjson.Result, name string) (bool, *Error) {
	if b, ok := jsonscan.OptBool(v); ok {
		return b, nil
	}
	return false, Malformed(`"` + name + `" must be a boolean`)
}

func optInt(v gjson.Result, name string) (int64, *Error) {
	if n, ok := jsonscan.OptInt(v); ok {
		return n, nil
	}
	return 0, Malformed(`"` + name + `" must be a non-negative integer`)
}

func optString(v gjson.Result, name string) (string, *Error) {
	if s, ok := jsonscan.OptString(v); ok {
		return s, nil
	}
	return "", Malformed(`"` + name + `" must be a string`)
}

// member calls fn with the path of member k pushed.
func (p *parser) member(k string, fn func() *Error) *Error {
	n := p.path.Key(k)
	err := fn()
	p.path.Pop(n)
	return err
}

// each calls fn for every element of the array v with the path pushed.
func (p *parser) each(v gjson.Result, fn func(el gjson.Result) *Error) *Error {
	var err *Error
	i := 0
	v.ForEach(func(_, el gjson.Result) bool {
		n := p.path.Index(i)
		err = fn(el)
		p.path.Pop(n)
		i++
		return err == nil
	})
	return err
}

// emit records the string at the current path. Empty strings carry nothing
// to inspect and are left out.
func (p *parser) emit(role, kind, value string) *Error {
	if value == "" {
		return nil
	}
	if len(p.req.Texts) >= p.lim.MaxTexts {
		return TooLarge("request holds more than " + strconv.Itoa(p.lim.MaxTexts) + " texts")
	}
	p.req.Texts = append(p.req.Texts, Text{Path: p.path.String(), Role: role, Kind: kind, Value: value})
	return nil
}

// addMessage appends a Message for role from the Texts recorded since
// first, leaving out tool call arguments and reasoning.
func (p *parser) addMessage(role string, first int) {
	var parts []string
	for _, t := range p.req.Texts[first:] {
		if t.Kind != KindToolArguments && t.Kind != KindReasoning {
			parts = append(parts, t.Value)
		}
	}
	text := ""
	switch len(parts) {
	case 0:
	case 1:
		text = parts[0]
	default:
		text = strings.Join(parts, "\n")
	}
	p.req.Messages = append(p.req.Messages, Message{Role: role, Text: text})
}
