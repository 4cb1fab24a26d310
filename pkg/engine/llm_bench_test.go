package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLLMStream is the response phase of a streamed chat completion:
// SSE events in 1 KB chunks through the Exchange, usage read at the end.
// held-B is what the exchange keeps between chunks at the end of a stream:
// constant as the stream grows, since no event is held once complete.
func BenchmarkLLMStream(b *testing.B) {
	for _, events := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			e, _ := llmEngine(b)
			var sb strings.Builder
			for i := range events {
				fmt.Fprintf(&sb, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d \"},\"finish_reason\":null}]}\n\n", i)
			}
			sb.WriteString("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":100}}\n\ndata: [DONE]\n\n")
			stream := []byte(sb.String())
			req := []byte(`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
			h := Header{":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json", "x-agent-id": "reviewer"}
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			held := 0
			for b.Loop() {
				x := e.Start(context.Background(), Meta{Profile: "openai", RequestBodyMode: BodyBuffered})
				x.RequestHeaders(h, false)
				x.RequestBody(req, true)
				x.ResponseHeaders(Header{":status": "200", "content-type": "text/event-stream"}, false)
				for i := 0; i < len(stream); i += 1024 {
					end := min(i+1024, len(stream))
					x.ResponseBody(stream[i:end], end == len(stream))
				}
				if x.llm.sse != nil {
					held = cap(x.llm.sse.Pending())
				}
				if !x.llm.usageKnown {
					b.Fatal("usage not read")
				}
				x.Finish("")
			}
			b.ReportMetric(float64(held), "held-B")
		})
	}
}
