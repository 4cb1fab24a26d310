package openai

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/sse"
)

// chatRequest builds a chat request of about size bytes: a system prompt, a
// tool declaration, and user/assistant turns.
func chatRequest(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":1024,"temperature":0.2,`)
	b.WriteString(`"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],`)
	b.WriteString(`"messages":[{"role":"system","content":"You are a careful assistant. Answer briefly and cite sources."}`)
	for i := 0; b.Len() < size-200; i++ {
		fmt.Fprintf(&b, `,{"role":"user","content":[{"type":"text","text":"Question %d: what is the weather like in Paris today, and should I take an umbrella?"}]}`, i)
		fmt.Fprintf(&b, `,{"role":"assistant","content":"It is mild in Paris; an umbrella is a good idea this afternoon (turn %d)."}`, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseRequest(b *testing.B) {
	for _, size := range []int{4 << 10, 16 << 10} {
		body := chatRequest(size)
		b.Run(fmt.Sprintf("%dB", len(body)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseRequest(ChatCompletions, body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStreamUsage(b *testing.B) {
	body := readTestdata(b, "streams/responses_web_search_stream.sse")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sc := sse.NewScanner(0)
		su := NewStreamUsage(Responses)
		for i := 0; i < len(body); i += 1024 {
			evs, _ := sc.Feed(body[i:min(i+1024, len(body))])
			for _, ev := range evs {
				su.Event(ev)
			}
		}
		if u, _ := su.Usage(); !u.Known {
			b.Fatal("no usage")
		}
	}
}
