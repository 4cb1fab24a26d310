// Command demo runs the whole chain on this machine for a person to try:
// the Envoy test double (e2e/harness) on envoy/envoy-local.yaml, agentguard
// (the built binary, default deployment), MCP servers posing as GitHub and
// Semgrep, fake OpenAI and Anthropic upstreams replaying recorded answers,
// and a fake orchestrator. Everything listens on 127.0.0.1; it stops on
// Ctrl-C, or by itself after an hour.
//
//	make demo
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agentguard/agentguard/e2e/envoyconfig"
	"github.com/agentguard/agentguard/e2e/fakeprovider"
	"github.com/agentguard/agentguard/e2e/harness"
	"github.com/agentguard/agentguard/e2e/mcpservers"
)

// Demo credentials: fake, set in agentguard's environment only.
const (
	openaiKey     = "sk-demo-openai-key"
	anthropicKey  = "sk-ant-demo-key"
	webhookSecret = "demo-webhook-secret"
)

func main() {
	bin := flag.String("agentguard", "bin/agentguard", "agentguard binary")
	recordings := flag.String("recordings", "e2e/testdata/llm/recordings.jsonl", "recorded LLM answers")
	life := flag.Duration("for", time.Hour, "stop after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *life)
	defer cancel()

	// agentguard, as `make run` starts it, with demo keys.
	ag := exec.CommandContext(ctx, *bin, "serve", "--grpc-addr", "127.0.0.1:9000")
	ag.Env = append(os.Environ(), "OPENAI_API_KEY="+openaiKey, "ANTHROPIC_API_KEY="+anthropicKey, "GITHUB_WEBHOOK_SECRET="+webhookSecret)
	audit, err := os.Create("agentguard-audit.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()
	ag.Stdout, ag.Stderr = audit, io.Discard
	if err := ag.Start(); err != nil {
		log.Fatalf("start agentguard (run `make build` first): %v", err)
	}
	defer ag.Wait()

	// Upstreams on the ports envoy-local.yaml names.
	must(mcpservers.Serve(ctx, mcpservers.GitHub(), "127.0.0.1:18083", mcpservers.ServeOptions{}))
	must(mcpservers.Serve(ctx, mcpservers.Semgrep(), "127.0.0.1:18084", mcpservers.ServeOptions{}))
	recs, err := fakeprovider.Load(*recordings)
	if err != nil {
		log.Fatal(err)
	}
	serve(ctx, "127.0.0.1:18082", provider(recs, "openai"))
	serve(ctx, "127.0.0.1:18081", provider(recs, "anthropic"))
	serve(ctx, "127.0.0.1:18080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orchestrator received %s %s\n", r.Method, r.URL.Path)
	}))

	b, err := envoyconfig.Load("envoy/envoy-local.yaml")
	if err != nil {
		log.Fatal(err)
	}
	h, err := harness.Start(ctx, b, harness.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	fmt.Print(instructions)
	<-ctx.Done()
	fmt.Println("\nstopping")
}

func must(_ any, err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func serve(ctx context.Context, addr string, h http.Handler) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatalf("%s: %v", addr, err)
		}
	}()
	go func() { <-ctx.Done(); srv.Close() }()
}

// provider answers each request with a recording for its path and stream
// flag, streamed in flushed chunks like the real API.
func provider(recs map[string]fakeprovider.Recording, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		for _, rec := range recs {
			if rec.Provider != name || rec.Path != r.URL.Path || rec.IsStream() != req.Stream || rec.Status >= 400 {
				continue
			}
			resp := rec.Response()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.Status)
			for _, c := range fakeprovider.Split(resp.Body, fakeprovider.DefaultChunks) {
				w.Write(c)
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
			return
		}
		http.Error(w, `{"error":{"message":"the demo has no recording for this request"}}`, http.StatusNotFound)
	})
}

var instructions = strings.ReplaceAll(`
agentguard demo — everything on 127.0.0.1 (Ctrl-C stops it; the audit log is in ./agentguard-audit.jsonl)

  MCP (listener 9083), as code-reviewer, through Envoy's stand-in and agentguard to the fake GitHub server:
    node e2e/node/node_modules/@modelcontextprotocol/inspector-cli/build/cli.js --cli http://127.0.0.1:9083/mcp \
      --transport http --method tools/list --header "x-agent-id: code-reviewer" --header "x-mcp-server: github"
      (run it from e2e/node/node_modules/@modelcontextprotocol/inspector-cli/build; the list is filtered)
    ... --method tools/call --tool-name delete_repository --tool-arg owner=acme repo=api ...   → denied, JSON-RPC -32051

  OpenAI (9082) — the agent's own key is replaced by the one agentguard holds:
    curl -s http://127.0.0.1:9082/v1/chat/completions -H 'x-agent-id: code-reviewer' -H 'authorization: Bearer mine' \
      -H 'content-type: application/json' -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}'
    curl -s http://127.0.0.1:9082/v1/chat/completions -H 'x-agent-id: code-reviewer' \
      -H 'content-type: application/json' -d '{"model":"gpt-4.1","messages":[]}'          → 403 in OpenAI's shape

  Anthropic (9081):
    curl -s http://127.0.0.1:9081/v1/messages -H 'x-agent-id: code-reviewer' -H 'content-type: application/json' \
      -d '{"model":"claude-sonnet-4-20250514","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'

  Webhooks (9080): a delivery must be signed with the demo secret
    body='{"action":"opened"}'; sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac SECRET | cut -d' ' -f2)
    curl -s http://127.0.0.1:9080/webhook/github -H "x-hub-signature-256: sha256=$sig" -d "$body"

  agentguard itself:
    grpcurl -plaintext 127.0.0.1:9000 list
    curl -s 127.0.0.1:15020/metrics | grep agentguard_
    curl -s 127.0.0.1:15000/config_dump
`, "SECRET", webhookSecret)
