package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
// non-empty strings a prompt inspector must see: every string under a text
// bearing key inside the conversation members. It is independent of the
// parser and deliberately simple.
func oracleTexts(t *testing.T, body []byte) map[string]string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	textKeys := map[string]bool{"text": true, "content": true, "arguments": true, "output": true, "refusal": true, "input": true, "prompt": true, "instructions": true, "suffix": true}
	out := map[string]string{}
	var walk func(v any, path []string, key string)
	walk = func(v any, path []string, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "tools" || k == "image_url" || k == "input_audio" || k == "file" || k == "include" || k == "stop" {
					continue
				}
				walk(c, append(path, gjson.Escape(k)), k)
			}
		case []any:
			for i, c := range x {
				walk(c, append(path, itoa(i)), key)
			}
		case string:
			if textKeys[key] && x != "" {
				out[strings.Join(path, ".")] = x
			}
		}
	}
	walk(v, nil, "")
	return out
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// TestCorpus parses every recorded OpenAI request and reads the usage of
// every recorded response.
func TestCorpus(t *testing.T) {
	var requests, jsonUsage, streams int
	for _, rec := range loadCorpus(t, "openai") {
		method := rec.Method
		if method == "" {
			method = "POST"
		}
		ep, ok := EndpointFor(method, rec.Path)
		if !ok {
			continue
		}
		t.Run(rec.ID, func(t *testing.T) {
			body := []byte(rec.RequestBody)
			r, err := ParseRequest(ep, body, Limits{})
			if err != nil {
				if e, ok := err.(*Error); ok && e.Status == 400 && rec.Status == 400 {
					t.Logf("rejected, as OpenAI did: %v", err)
					return
				}
				t.Fatalf("parse: %v\n%s", err, body)
			}
			requests++
			checkRequestAgainstJSON(t, body, r)

			if rec.SSESummary != nil {
				streams++
				su := feedStream(t, ep, []byte(rec.ResponseBody))
				u, _ := su.Usage()
				if su.Done() != rec.SSESummary.DoneSentinel && ep != Responses {
					t.Errorf("done %v, recorded sentinel %v", su.Done(), rec.SSESummary.DoneSentinel)
				}
				if ep == Responses && !su.Done() {
					t.Error("responses stream not done")
				}
				checkUsage(t, u, rec.SSESummary.LastUsage)
				return
			}
			if rec.Status == 200 {
				jsonUsage++
				u, _, err := UsageFromJSON(ep, []byte(rec.ResponseBody))
				if err != nil {
					t.Fatal(err)
				}
				checkUsage(t, u, json.RawMessage(gjson.Get(rec.ResponseBody, "usage").Raw))
			}
		})
	}
	t.Logf("%d requests, %d JSON responses, %d streams", requests, jsonUsage, streams)
	if requests < 50 || streams < 15 {
		t.Errorf("corpus smaller than expected: %d requests, %d streams", requests, streams)
	}
}

func checkRequestAgainstJSON(t *testing.T, body []byte, r *Request) {
	t.Helper()
	var v struct {
		Model         string            `json:"model"`
		Stream        bool              `json:"stream"`
		MaxCompletion *int64            `json:"max_completion_tokens"`
		MaxTokens     *int64            `json:"max_tokens"`
		MaxOutput     *int64            `json:"max_output_tokens"`
		Messages      []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var maxTokens int64
	for _, p := range []*int64{v.MaxCompletion, v.MaxTokens, v.MaxOutput} {
		if p != nil && maxTokens == 0 {
			maxTokens = *p
		}
	}
	if r.Model != v.Model || r.Stream != v.Stream || r.MaxTokens != maxTokens {
		t.Errorf("got %q %v %d; encoding/json reads %q %v %d", r.Model, r.Stream, r.MaxTokens, v.Model, v.Stream, maxTokens)
	}
	if r.Endpoint == ChatCompletions && len(r.Messages) != len(v.Messages) {
		t.Errorf("%d messages; encoding/json reads %d", len(r.Messages), len(v.Messages))
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

func checkUsage(t *testing.T, u Usage, raw json.RawMessage) {
	t.Helper()
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		if u.Known {
			t.Errorf("usage %+v where the recording has none", u)
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	num := func(k string) int64 {
		f, _ := m[k].(float64)
		return int64(f)
	}
	in, out := num("prompt_tokens")+num("input_tokens"), num("completion_tokens")+num("output_tokens")
	if !u.Known || u.Input != in || u.Output != out {
		t.Errorf("usage %+v; recorded %s", u, raw)
	}
	cached := gjson.GetBytes(raw, "prompt_tokens_details.cached_tokens").Int() + gjson.GetBytes(raw, "input_tokens_details.cached_tokens").Int()
	reasoning := gjson.GetBytes(raw, "completion_tokens_details.reasoning_tokens").Int() + gjson.GetBytes(raw, "output_tokens_details.reasoning_tokens").Int()
	if u.CachedInput != cached || u.Reasoning != reasoning {
		t.Errorf("cached %d reasoning %d; recorded %s", u.CachedInput, u.Reasoning, raw)
	}
}
