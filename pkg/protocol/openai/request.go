package openai

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
	Role  string // role of the message holding it ("system" for instructions)
	Kind  string // see the Kind constants
	Value string
}

// Text kinds.
const (
	KindSystem        = "system"              // system or developer message content
	KindMessage       = "message"             // user or assistant message content
	KindToolResult    = "tool_result"         // tool message content, function_call_output
	KindToolArguments = "tool_call_arguments" // arguments of a tool call in the history
	KindInstructions  = "instructions"        // Responses instructions
	KindInput         = "input"               // Responses input string or prompt variable, embeddings input
	KindPrompt        = "prompt"              // legacy Completions prompt and suffix
	KindReasoning     = "reasoning"           // reasoning summaries sent back (Responses)
	KindPrediction    = "prediction"          // Chat predicted output
)

// Message is one message of the conversation with its text.
type Message struct {
	Role string
	// Text is the message's Texts joined with "\n", leaving out tool call
	// arguments and reasoning (see ToolCalls and Texts for those).
	Text string
}

// ToolCall is a tool call found in the request history.
type ToolCall struct {
	ID, Name, Arguments string
}

// Request is the parsed view of a request body.
type Request struct {
	Endpoint     Endpoint
	Model        string
	Stream       bool
	MaxTokens    int64 // max_completion_tokens, else max_tokens, else max_output_tokens; 0 when absent
	IncludeUsage bool  // stream_options.include_usage
	Messages     []Message
	Texts        []Text
	Tools        []string // declared tool names
	ToolCalls    []ToolCall
}

// ParseRequest parses and validates a request body for ep. It checks, in
// order: UTF-8, nesting depth, JSON syntax, a top-level object, then the
// members it reads: model (a non-empty string), stream, the max token fields,
// stream_options, the endpoint's input (messages, input, prompt) and tools.
// A member name repeated in any object it reads is rejected. Members it does
// not read are not checked.
//
// Errors are *Error: Malformed (400) for invalid bodies, TooLarge (413) when
// the request holds more than Limits.MaxTexts texts.
func ParseRequest(ep Endpoint, body []byte, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	switch ep {
	case ChatCompletions, Responses, Embeddings, Completions:
	default:
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

// top holds the top-level members the codec reads.
type top struct {
	model, stream, streamOptions                  gjson.Result
	maxCompletion, maxTokens, maxOutput           gjson.Result
	messages, tools, functions, input, prompt     gjson.Result
	instructions, suffix, prediction, promptParam gjson.Result
}

func (p *parser) parse(root gjson.Result) *Error {
	var t top
	err := p.keys.eachMember(root, func(k string, v gjson.Result) *Error {
		switch k {
		case "model":
			t.model = v
		case "stream":
			t.stream = v
		case "stream_options":
			t.streamOptions = v
		case "max_completion_tokens":
			t.maxCompletion = v
		case "max_tokens":
			t.maxTokens = v
		case "max_output_tokens":
			t.maxOutput = v
		case "messages":
			t.messages = v
		case "tools":
			t.tools = v
		case "functions":
			t.functions = v
		case "input":
			t.input = v
		case "prompt":
			t.prompt = v
		case "instructions":
			t.instructions = v
		case "suffix":
			t.suffix = v
		case "prediction":
			t.prediction = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	r := p.req
	if t.model.Type != gjson.String || t.model.Str == "" {
		return Malformed(`"model" must be a non-empty string`)
	}
	r.Model = t.model.Str
	if r.Stream, err = optBool(t.stream, "stream"); err != nil {
		return err
	}
	if err := p.streamOptions(t.streamOptions); err != nil {
		return err
	}
	for _, m := range []struct {
		v    gjson.Result
		name string
	}{{t.maxCompletion, "max_completion_tokens"}, {t.maxTokens, "max_tokens"}, {t.maxOutput, "max_output_tokens"}} {
		n, err := optInt(m.v, m.name)
		if err != nil {
			return err
		}
		if r.MaxTokens == 0 {
			r.MaxTokens = n
		}
	}
	switch r.Endpoint {
	case ChatCompletions:
		return p.chat(t)
	case Responses:
		return p.responses(t)
	case Embeddings:
		return p.embeddings(t)
	default:
		return p.completions(t)
	}
}

func (p *parser) streamOptions(v gjson.Result) *Error {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return Malformed(`"stream_options" must be an object`)
	}
	return p.keys.eachMember(v, func(k string, v gjson.Result) *Error {
		if k != "include_usage" {
			return nil
		}
		b, err := optBool(v, "stream_options.include_usage")
		p.req.IncludeUsage = b
		return err
	})
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

// emitAt records the string v of member k of the current value.
func (p *parser) emitAt(k string, v gjson.Result, role, kind string) *Error {
	n := p.path.Key(k)
	err := p.emit(role, kind, v.Str)
	p.path.Pop(n)
	return err
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

// each calls fn for every element of the array v with the path pushed.
func (p *parser) each(v gjson.Result, fn func(i int, el gjson.Result) *Error) *Error {
	var err *Error
	i := 0
	v.ForEach(func(_, el gjson.Result) bool {
		n := p.path.Index(i)
		err = fn(i, el)
		p.path.Pop(n)
		i++
		return err == nil
	})
	return err
}

// member calls fn with the path of member k pushed.
func (p *parser) member(k string, fn func() *Error) *Error {
	n := p.path.Key(k)
	err := fn()
	p.path.Pop(n)
	return err
}

// tools reads declared tool names: tools[].function.name or tools[].name,
// tools[].custom.name, and the legacy functions[].name.
func (p *parser) tools(tools, functions gjson.Result) *Error {
	if err := p.toolList(tools, "tools"); err != nil {
		return err
	}
	return p.toolList(functions, "functions")
}

func (p *parser) toolList(v gjson.Result, name string) *Error {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return Malformed(`"` + name + `" must be an array`)
	}
	var err *Error
	v.ForEach(func(_, tool gjson.Result) bool {
		if !tool.IsObject() {
			err = Malformed(`"` + name + `" entries must be objects`)
			return false
		}
		err = p.keys.eachMember(tool, func(k string, v gjson.Result) *Error {
			switch k {
			case "name":
				s, err := optString(v, name+"[].name")
				if s != "" {
					p.req.Tools = append(p.req.Tools, s)
				}
				return err
			case "function", "custom":
				if !v.IsObject() {
					return nil
				}
				return p.keys.eachMember(v, func(k string, v gjson.Result) *Error {
					if k != "name" {
						return nil
					}
					s, err := optString(v, name+"[].function.name")
					if s != "" {
						p.req.Tools = append(p.req.Tools, s)
					}
					return err
				})
			}
			return nil
		})
		return err == nil
	})
	return err
}
