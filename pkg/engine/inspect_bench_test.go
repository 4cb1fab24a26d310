package engine

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// allDetectors is the Set the default deployment builds: secrets, PII
// and prompt injection.
func allDetectors(b *testing.B) *inspect.Set {
	f, err := config.Parse("bench", policies.CodeReview)
	if err != nil {
		b.Fatal(err)
	}
	set, err := buildDetectors(f)
	if err != nil || len(set.Detectors()) != 3 {
		b.Fatalf("detectors %v: %v", set, err)
	}
	return set
}

// BenchmarkDetectors runs the default deployment's detectors, each alone
// and all together ("all"), over 16 KB of benign English prose and over a
// 4 KB prompt: the throughput of inspection itself (MB/s per core, one
// goroutine) and what it adds to a 4 KB prompt (ns/op).
func BenchmarkDetectors(b *testing.B) {
	set := allDetectors(b)
	inputs := map[string]string{"prose16k": "../inspect/injection/testdata/prose.txt", "prompt4k": "../inspect/injection/testdata/prompt4k.txt"}
	for _, in := range []string{"prose16k", "prompt4k"} {
		data, err := os.ReadFile(inputs[in])
		if err != nil {
			b.Fatal(err)
		}
		texts := []inspect.Text{{Field: "messages.0.content", Value: string(data)}}
		for _, only := range []string{"all", "secrets", "pii", "injection"} {
			b.Run(in+"/"+only, func(b *testing.B) {
				var sel func(string) bool
				if only != "all" {
					sel = func(n string) bool { return n == only }
				}
				ctx := context.Background()
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if r := set.Scan(ctx, texts, sel); len(r.Failed) > 0 {
						b.Fatal(r.Failed)
					}
				}
			})
		}
	}
}

// BenchmarkLLMRequest4KB is the request phase of a chat completion with a
// 4 KB prompt through the Exchange, with the default deployment's
// inspection (inspect) and without it (none): the difference is what
// inspection adds to a 4 KB prompt.
func BenchmarkLLMRequest4KB(b *testing.B) {
	prompt, err := os.ReadFile("../inspect/injection/testdata/prompt4k.txt")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]string{
		{"role": "system", "content": "You review pull requests for correctness and security."},
		{"role": "user", "content": string(prompt)}}})
	b.Setenv("OPENAI_API_KEY", "sk-bench")
	for _, mode := range []string{"none", "inspect"} {
		b.Run(mode, func(b *testing.B) {
			f, err := config.Parse("bench", policies.CodeReview)
			if err != nil {
				b.Fatal(err)
			}
			for i := range f.Profiles {
				f.Profiles[i].Limits = nil
				if mode == "none" {
					f.Profiles[i].Inspect = config.Inspect{}
				}
			}
			rt, err := Compile(f, "bench")
			if err != nil {
				b.Fatal(err)
			}
			e := New(rt, Options{Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(io.Discard)})
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				x := e.Start(ctx, Meta{Profile: "openai", RequestBodyMode: BodyBuffered})
				x.RequestHeaders(Header{":method": "POST", ":path": "/v1/chat/completions", ":authority": "api.openai.com",
					"content-type": "application/json", "x-agent-id": "code-reviewer"}, false)
				if r := x.RequestBody(body, true); r.Reply != nil {
					b.Fatalf("denied: %s", r.Reply.Body)
				}
				x.Finish("")
			}
		})
	}
}
