package anthropic

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/pkg/sse"
)

// messagesRequest builds a Messages request of about size bytes with a
// system prompt, a tool, and user/assistant turns including tool use.
func messagesRequest(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet-4-20250514","max_tokens":1024,"stream":true,"system":[{"type":"text","text":"You are a careful code reviewer.","cache_control":{"type":"ephemeral"}}],`)
	b.WriteString(`"tools":[{"name":"read_file","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}],"messages":[`)
	for i := 0; b.Len() < size-300; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"text","text":"Please review change %d and tell me whether the error handling is right."}]},`, i)
		fmt.Fprintf(&b, `{"role":"assistant","content":[{"type":"text","text":"Let me read it."},{"type":"tool_use","id":"toolu_%d","name":"read_file","input":{"path":"pkg/x/file%d.go"}}]},`, i, i)
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_%d","content":"package x // file %d"}]}`, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseRequest(b *testing.B) {
	for _, size := range []int{4 << 10, 16 << 10} {
		body := messagesRequest(size)
		b.Run(fmt.Sprintf("%dB", len(body)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseRequest(Messages, body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStreamUsage(b *testing.B) {
	body := readTestdata(b, "streams/web_fetch_stream.sse")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sc := sse.NewScanner(0)
		su := NewStreamUsage(Messages)
		for i := 0; i < len(body); i += 1024 {
			evs, _ := sc.Feed(body[i:min(i+1024, len(body))])
			for _, ev := range evs {
				su.Event(ev)
			}
		}
		if !su.Done() {
			b.Fatal("not done")
		}
	}
}
