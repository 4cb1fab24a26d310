package anthropic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// corpusFile returns shared/corpora/llm_payloads/transcripts.jsonl, which CI
// clones beside the repository root (the directory holding go.mod). Tests
// that need it skip without it.
func corpusFile(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	f := filepath.Join(dir, "..", "shared", "corpora", "llm_payloads", "transcripts.jsonl")
	if _, err := os.Stat(f); err != nil {
		t.Skipf("LLM corpus not found at %s (clone shared/ beside the repository): %v", f, err)
	}
	return f
}

type corpusRecord struct {
	ID           string          `json:"id"`
	Provider     string          `json:"provider"`
	Method       string          `json:"method"`
	Path         string          `json:"path"`
	RequestBody  json.RawMessage `json:"request_body"`
	Status       int             `json:"status"`
	ResponseBody string          `json:"response_body"`
	SSESummary   *struct {
		DoneSentinel bool            `json:"done_sentinel"`
		LastUsage    json.RawMessage `json:"last_usage"`
	} `json:"sse_summary"`
}

func loadCorpus(t *testing.T, provider string) []corpusRecord {
	f, err := os.Open(corpusFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r corpusRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Provider == provider {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oracleTexts walks body with encoding/json and returns, by gjson path, the
// non-empty strings a prompt inspector must see: under system and messages,
// every string under a "text", "content", "thinking" or "data" key (data only
// in a text document source) and every string inside a tool_use input. It is
// independent of the parser and deliberately simple.
func oracleTexts(t *testing.T, body []byte) map[string]string {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	textKeys := map[string]bool{"text": true, "content": true, "thinking": true, "system": true}
	out := map[string]string{}
	var walk func(v any, path []string, key string, inInput bool)
	walk = func(v any, path []string, key string, inInput bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				in := inInput || (k == "input" && strings.HasSuffix(fmt.Sprint(x["type"]), "tool_use"))
				if k == "signature" || (k == "data" && !inInput) || k == "source" && !inInput {
					continue
				}
				walk(c, append(path, gjson.Escape(k)), k, in)
			}
		case []any:
			for i, c := range x {
				walk(c, append(path, strconv.Itoa(i)), key, inInput)
			}
		case string:
			if (inInput || textKeys[key]) && x != "" {
				out[strings.Join(path, ".")] = x
			}
		}
	}
	walk(v["system"], []string{"system"}, "system", false)
	walk(v["messages"], []string{"messages"}, "messages", false)
	return out
}

// TestCorpus parses every recorded Anthropic request and reads the usage of
// every recorded response.
func TestCorpus(t *testing.T) {
	var requests, jsonUsage, streams int
	for _, rec := range loadCorpus(t, "anthropic") {
		method := rec.Method
		if method == "" {
			method = "POST"
		}
		ep, ok := EndpointFor(method, rec.Path)
		if !ok {
			t.Errorf("%s: endpoint %s %s not recognised", rec.ID, method, rec.Path)
			continue
		}
		t.Run(rec.ID, func(t *testing.T) {
			if len(rec.RequestBody) > 0 && string(rec.RequestBody) != "null" {
				body := []byte(rec.RequestBody)
				r, err := ParseRequest(ep, body, Limits{})
				if err != nil {
					t.Fatalf("parse: %v\n%s", err, body)
				}
				requests++
				checkRequestAgainstJSON(t, body, r)
			}
			if rec.SSESummary != nil {
				streams++
				su := feedStream(t, ep, []byte(rec.ResponseBody))
				u, _ := su.Usage()
				checkStreamUsage(t, u, rec.SSESummary.LastUsage)
				if strings.HasSuffix(rec.ResponseBody, "\n\n") && !su.Done() {
					t.Error("stream not done")
				}
				return
			}
			if rec.Status == 200 && ep == Messages {
				jsonUsage++
				u, _, err := UsageFromJSON(ep, []byte(rec.ResponseBody))
				if err != nil {
					t.Fatal(err)
				}
				checkJSONUsage(t, u, gjson.Get(rec.ResponseBody, "usage").Raw)
			}
		})
	}
	t.Logf("%d requests, %d JSON responses, %d streams", requests, jsonUsage, streams)
	if requests < 30 || streams < 20 {
		t.Errorf("corpus smaller than expected: %d requests, %d streams", requests, streams)
	}
}

func checkRequestAgainstJSON(t *testing.T, body []byte, r *Request) {
	t.Helper()
	var v struct {
		Model     string            `json:"model"`
		Stream    bool              `json:"stream"`
		MaxTokens int64             `json:"max_tokens"`
		System    json.RawMessage   `json:"system"`
		Messages  []json.RawMessage `json:"messages"`
		Tools     []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if r.Model != v.Model || r.Stream != v.Stream || r.MaxTokens != v.MaxTokens {
		t.Errorf("got %q %v %d; encoding/json reads %q %v %d", r.Model, r.Stream, r.MaxTokens, v.Model, v.Stream, v.MaxTokens)
	}
	want := len(v.Messages)
	if len(v.System) > 0 {
		want++
	}
	if len(r.Messages) != want || len(r.Tools) != len(v.Tools) {
		t.Errorf("%d messages, %d tools; encoding/json reads %d, %d", len(r.Messages), len(r.Tools), want, len(v.Tools))
	}
	checkPaths(t, body, r)
	got := map[string]string{}
	for _, x := range r.Texts {
		got[x.Path] = x.Value
	}
	for p, s := range oracleTexts(t, body) {
		if got[p] != s {
			t.Errorf("text at %s (%.40q) not found", p, s)
		}
	}
}

func checkJSONUsage(t *testing.T, u Usage, raw string) {
	t.Helper()
	in := gjson.Get(raw, "input_tokens").Int() + gjson.Get(raw, "cache_read_input_tokens").Int() + gjson.Get(raw, "cache_creation_input_tokens").Int()
	if !u.Known || u.Input != in || u.Output != gjson.Get(raw, "output_tokens").Int() || u.CachedInput != gjson.Get(raw, "cache_read_input_tokens").Int() {
		t.Errorf("usage %+v; recorded %s", u, raw)
	}
}

// checkStreamUsage compares with the recorded last usage, message_delta's:
// output always; input when message_delta repeats it (older streams carry it
// in message_start only).
func checkStreamUsage(t *testing.T, u Usage, raw json.RawMessage) {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		t.Fatal("recording has no usage")
	}
	if !u.Known || u.Output != gjson.GetBytes(raw, "output_tokens").Int() {
		t.Errorf("usage %+v; recorded %s", u, raw)
	}
	if in := gjson.GetBytes(raw, "input_tokens"); in.Exists() {
		want := in.Int() + gjson.GetBytes(raw, "cache_read_input_tokens").Int() + gjson.GetBytes(raw, "cache_creation_input_tokens").Int()
		if u.Input != want {
			t.Errorf("input %d; recorded %s", u.Input, raw)
		}
	} else if u.Input == 0 {
		t.Errorf("no input tokens from message_start: %+v", u)
	}
	if th := gjson.GetBytes(raw, "output_tokens_details.thinking_tokens"); th.Exists() && u.Reasoning != th.Int() {
		t.Errorf("reasoning %d; recorded %s", u.Reasoning, raw)
	}
}
