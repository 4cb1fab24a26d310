package engine

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/protocol/anthropic"
	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
	"github.com/agentguard/agentguard/pkg/protocol/openai"
)

// Where a provider's answer carries the model's text. Only these members
// are read: the rest of an answer (ids, usage, logprobs, which repeat the
// text token by token) is not free text.
var (
	answerSkip = map[string]bool{"id": true, "type": true, "role": true, "index": true, "object": true,
		"finish_reason": true, "stop_reason": true, "status": true, "call_id": true, "logprobs": true}
)

// streamPiece is text one event adds to a channel of a streamed answer,
// and its path in the event's data.
type streamPiece struct {
	channel, path, text string
}

// answerTexts returns the texts of a (non-streamed) answer.
func answerTexts(provider string, ep llmEndpoint, body []byte) []inspect.Text {
	var root string
	switch {
	case provider == "openai" && (ep.id == int(openai.ChatCompletions) || ep.id == int(openai.Completions)):
		root = "choices"
	case provider == "openai" && ep.id == int(openai.Responses):
		root = "output"
	case provider == "anthropic" && ep.id == int(anthropic.Messages):
		root = "content"
	default:
		return nil // embeddings, token counts: no text comes back
	}
	var p jsonscan.Path
	p.Key(root)
	return jsonTexts(nil, gjson.GetBytes(body, root), &p, answerSkip)
}

// streamEvent is what one event of a streamed answer means for
// inspection: the text it adds to the answer's channels, whether it
// carries complete texts instead (OpenAI Responses' *.done and response.*
// events repeat the whole output; Anthropic's content_block_start), and
// the channels it ends (a prefix: "" ends them all).
type streamEvent struct {
	pieces []streamPiece
	whole  bool
	closes []string
}

func eventPieces(provider string, ep llmEndpoint, data []byte) (se streamEvent) {
	if len(data) == 0 || data[0] != '{' {
		return streamEvent{closes: []string{""}} // [DONE]
	}
	ev := gjson.ParseBytes(data)
	switch {
	case provider == "anthropic":
		switch ev.Get("type").Str {
		case "content_block_delta":
			ch := "content." + ev.Get("index").Raw + "."
			for _, k := range []string{"text", "partial_json", "thinking"} {
				if v := ev.Get("delta." + k); v.Type == gjson.String {
					se.pieces = append(se.pieces, streamPiece{channel: ch + k, path: "delta." + k, text: v.Str})
				}
			}
		case "content_block_start":
			se.whole = true
		case "content_block_stop":
			se.closes = []string{"content." + ev.Get("index").Raw + "."}
		case "message_stop":
			se.closes = []string{""}
		}
		return se
	case ep.id == int(openai.Responses):
		t := ev.Get("type").Str
		out := "output." + ev.Get("output_index").Raw + "."
		if strings.HasSuffix(t, ".delta") {
			if v := ev.Get("delta"); v.Type == gjson.String {
				ch := out + ev.Get("content_index").Raw + "." + t
				se.pieces = []streamPiece{{channel: ch, path: "delta", text: v.Str}}
			}
			return se
		}
		se.whole = true
		if strings.HasSuffix(t, ".done") && ev.Get("output_index").Exists() {
			se.closes = []string{out}
		} else if t == "response.completed" || t == "response.failed" || t == "response.incomplete" {
			se.closes = []string{""}
		}
		return se
	}
	// Chat and legacy completions: each choice streams its own text.
	ev.Get("choices").ForEach(func(k, c gjson.Result) bool {
		at := "choices." + strconv.Itoa(int(k.Int())) + "."
		ch := "choices." + c.Get("index").Raw + "."
		if fr := c.Get("finish_reason"); fr.Exists() && fr.Type != gjson.Null {
			se.closes = append(se.closes, ch)
		}
		pieces := &se.pieces
		for _, m := range []string{"delta.content", "delta.refusal", "text"} {
			if v := c.Get(m); v.Type == gjson.String {
				*pieces = append(*pieces, streamPiece{channel: ch + m, path: at + m, text: v.Str})
			}
		}
		c.Get("delta.tool_calls").ForEach(func(j, tc gjson.Result) bool {
			if v := tc.Get("function.arguments"); v.Type == gjson.String {
				*pieces = append(*pieces, streamPiece{
					channel: ch + "tool_calls." + tc.Get("index").Raw,
					path:    at + "delta.tool_calls." + strconv.Itoa(int(j.Int())) + ".function.arguments",
					text:    v.Str})
			}
			return true
		})
		return true
	})
	return se
}
