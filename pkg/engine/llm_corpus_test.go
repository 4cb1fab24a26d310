package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/telemetry"
)

// transcript is one record of ../shared/corpora/llm_payloads/transcripts.jsonl.
type transcript struct {
	ID                  string          `json:"id"`
	Provider            string          `json:"provider"`
	Method              string          `json:"method"`
	Path                string          `json:"path"`
	RequestBody         json.RawMessage `json:"request_body"`
	Status              int             `json:"status"`
	ResponseContentType string          `json:"response_content_type"`
	ResponseBody        string          `json:"response_body"`
	SSESummary          *struct {
		LastUsage json.RawMessage `json:"last_usage"`
	} `json:"sse_summary"`
}

func corpusPath(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for dir != "/" {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "corpora", "llm_payloads", "transcripts.jsonl")
			if _, err := os.Stat(p); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("corpus missing at %s", p)
				}
				t.Skipf("corpus not found at %s (shared/ beside the repo)", p)
			}
			return p
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no go.mod above the test")
	return ""
}

func loadTranscripts(t *testing.T) []transcript {
	f, err := os.Open(corpusPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []transcript
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var tr transcript
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

func llmEngine(t testing.TB) (*Engine, *bytes.Buffer) {
	t.Helper()
	t.Setenv("AGENTGUARD_TEST_OPENAI_KEY", "sk-test-openai")
	t.Setenv("AGENTGUARD_TEST_ANTHROPIC_KEY", "sk-ant-test")
	data, err := os.ReadFile("testdata/llm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := LoadFile("llm.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var audit bytes.Buffer
	return New(rt, Options{Metrics: telemetry.NewMetrics(), Audit: telemetry.NewAuditor(&audit)}), &audit
}

// replay runs one recorded exchange through an Exchange, the response body
// cut into the given chunks, and returns what reached the client and the
// audit record's LLM part.
func replay(t *testing.T, e *Engine, tr *transcript, req []byte, chunks [][]byte) ([]byte, *telemetry.LLMRecord, string) {
	x := e.Start(context.Background(), Meta{Profile: tr.Provider, RequestBodyMode: BodyBuffered})
	h := Header{":method": "POST", ":path": tr.Path, ":authority": "api", "content-type": "application/json", "x-agent-id": "reviewer"}
	if r := x.RequestHeaders(h, false); r.Reply != nil {
		t.Fatalf("%s: headers denied: %s", tr.ID, r.Reply.Body)
	}
	if r := x.RequestBody(req, true); r.Reply != nil {
		t.Fatalf("%s: denied: %s", tr.ID, r.Reply.Body)
	}
	status := tr.Status
	if status == 0 {
		status = 200
	}
	x.ResponseHeaders(Header{":status": itoa(status), "content-type": tr.ResponseContentType}, false)
	var out []byte
	for i, c := range chunks {
		r := x.ResponseBody(c, i == len(chunks)-1)
		if r.Reply != nil {
			t.Fatalf("%s: response replaced: %s", tr.ID, r.Reply.Body)
		}
		if r.BodySet {
			out = append(out, r.Body...)
		} else {
			out = append(out, c...)
		}
	}
	x.Finish("")
	return out, x.rec.LLM, x.rec.Decision
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// expectedUsage reads input and output tokens from the recording itself,
// independently of the codecs.
func expectedUsage(tr *transcript) (in, out int64, ok bool) {
	var u gjson.Result
	switch {
	case tr.SSESummary != nil:
		if len(tr.SSESummary.LastUsage) == 0 || string(tr.SSESummary.LastUsage) == "null" {
			return 0, 0, false
		}
		u = gjson.ParseBytes(tr.SSESummary.LastUsage)
	default:
		u = gjson.Get(tr.ResponseBody, "usage")
		if !u.Exists() {
			return 0, 0, false
		}
	}
	if v := u.Get("prompt_tokens"); v.Exists() {
		return v.Int(), u.Get("completion_tokens").Int(), true
	}
	// Anthropic counts cache reads and writes apart from input_tokens; the
	// codec's Input is every input token.
	cache := u.Get("cache_read_input_tokens").Int() + u.Get("cache_creation_input_tokens").Int()
	in, out = u.Get("input_tokens").Int()+cache, u.Get("output_tokens").Int()
	if tr.SSESummary != nil && in == 0 && strings.Contains(tr.ResponseBody, "message_start") {
		// Anthropic reports input tokens in message_start; message_delta
		// (the summary's last usage) may carry only the output.
		for _, line := range strings.Split(tr.ResponseBody, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			if gjson.Get(line, "type").String() == "message_start" {
				mu := gjson.Get(line, "message.usage")
				in = mu.Get("input_tokens").Int() + mu.Get("cache_read_input_tokens").Int() + mu.Get("cache_creation_input_tokens").Int()
				break
			}
		}
	}
	return in, out, true
}

// TestReplayRecordedExchanges replays every recorded OpenAI and Anthropic
// exchange of an endpoint agentguard parses: the usage agentguard reads
// must equal the recorded one, and the client must get the upstream's
// bytes, whole or split at every byte boundary.
func TestReplayRecordedExchanges(t *testing.T) {
	e, _ := llmEngine(t)
	parsed := map[string]bool{"/v1/chat/completions": true, "/v1/responses": true, "/v1/messages": true, "/v1/embeddings": true}
	n, streams := 0, 0
	for _, tr := range loadTranscripts(t) {
		if tr.Provider != "openai" && tr.Provider != "anthropic" {
			continue
		}
		if tr.Path == "" && tr.Provider == "anthropic" {
			tr.Path = "/v1/messages" // a standalone recorded stream
		}
		if !parsed[tr.Path] || tr.Status >= 400 {
			continue
		}
		req := []byte(tr.RequestBody)
		if len(req) == 0 || string(req) == "null" {
			req = []byte(`{"model":"claude-sonnet-4-20250514","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		}
		body := []byte(tr.ResponseBody)
		n++
		t.Run(tr.ID, func(t *testing.T) {
			got, rec, decision := replay(t, e, &tr, req, [][]byte{body})
			if decision != "allow" {
				t.Fatalf("decision %s", decision)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("client bytes differ from upstream's (%d vs %d)", len(got), len(body))
			}
			in, out, ok := expectedUsage(&tr)
			if rec == nil {
				t.Fatal("no LLM record")
			}
			if ok && (rec.InputTokens != in || rec.OutputTokens != out) {
				t.Errorf("usage in=%d(+%d cached) out=%d, recorded in=%d out=%d", rec.InputTokens, rec.CachedTokens, rec.OutputTokens, in, out)
			}
			if !ok && !rec.UsageMissing {
				t.Errorf("no usage recorded, but not reported missing")
			}
			if !strings.HasPrefix(tr.ResponseContentType, "text/event-stream") {
				return
			}
			streams++
			stride := 1
			if raceEnabled {
				stride = max(1, len(body)/64)
			}
			for cut := 1; cut < len(body); cut += stride {
				got, rec2, _ := replay(t, e, &tr, req, [][]byte{body[:cut], body[cut:]})
				if !bytes.Equal(got, body) {
					t.Fatalf("split at %d: client bytes differ", cut)
				}
				if rec2.InputTokens != rec.InputTokens || rec2.OutputTokens != rec.OutputTokens || rec2.UsageMissing != rec.UsageMissing {
					t.Fatalf("split at %d: usage %+v, whole %+v", cut, rec2, rec)
				}
			}
		})
	}
	if n < 60 {
		t.Errorf("replayed %d exchanges; the corpus has more", n)
	}
	t.Logf("replayed %d exchanges, %d streams split at every byte", n, streams)
}
