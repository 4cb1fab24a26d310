package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/agentguard/agentguard/pkg/sse"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseRequest checks that ParseRequest never panics, that what it
// accepts is valid JSON, that every Text's path resolves to its value and
// can be rewritten with sjson, and that what it rejects gets a sendable
// error.
func FuzzParseRequest(f *testing.F) {
	addSeeds(f, "requests/*.json")
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","output":[{"type":"input_text","text":"x"}]}],"prompt":{"variables":{"a.b":"c","":"d"}}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a\u0000\"b"}]}]}`))
	lim := Limits{MaxDepth: 16, MaxTexts: 64}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ep := range []Endpoint{ChatCompletions, Responses, Embeddings, Completions} {
			r, err := ParseRequest(ep, body, lim)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || (e.Status != 400 && e.Status != 413) {
					t.Fatalf("error %v", err)
				}
				if !json.Valid(ErrorBody(e)) {
					t.Fatalf("error body invalid: %s", ErrorBody(e))
				}
				continue
			}
			if !utf8.Valid(body) || !json.Valid(body) {
				t.Fatal("accepted invalid JSON")
			}
			if r.Model == "" || len(r.Texts) > lim.MaxTexts {
				t.Fatalf("model %q, %d texts", r.Model, len(r.Texts))
			}
			var v struct {
				Model string `json:"model"`
			}
			if json.Unmarshal(body, &v) == nil && v.Model != r.Model {
				t.Fatalf("model %q, encoding/json reads %q", r.Model, v.Model)
			}
			for _, x := range r.Texts {
				got := gjson.GetBytes(body, x.Path)
				if got.Type != gjson.String || got.Str != x.Value {
					t.Fatalf("path %q resolves to %s, want %q", x.Path, got.Raw, x.Value)
				}
				out, err := sjson.SetBytes(body, x.Path, "REDACTED")
				if err != nil || !json.Valid(out) || gjson.GetBytes(out, x.Path).Str != "REDACTED" {
					t.Fatalf("sjson rewrite of %q failed: %v", x.Path, err)
				}
			}
		}
	})
}

// FuzzStreamUsage checks that arbitrary event data never panics StreamUsage
// and never yields negative counts.
func FuzzStreamUsage(f *testing.F) {
	// Seeds are the first and last events of each recorded stream: whole
	// streams (up to 31 KB) make the fuzzer's minimisation crawl.
	files, err := filepath.Glob(filepath.Join("testdata", "streams", "*.sse"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		events := bytes.SplitAfter(b, []byte("\n\n"))
		f.Add(events[0])
		for _, ev := range events[max(0, len(events)-3):] {
			if len(ev) < 4096 {
				f.Add(ev)
			}
		}
	}
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":1e99}}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: response.completed\ndata: {\"response\":{\"usage\":{\"input_tokens\":\"x\"}}}\n\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, ep := range []Endpoint{ChatCompletions, Responses, Completions, Embeddings} {
			su := NewStreamUsage(ep)
			sc := sse.NewScanner(1 << 16)
			evs, _ := sc.Feed(stream)
			for _, ev := range evs {
				su.Event(ev)
			}
			su.Event(sse.Event{Data: stream})
			u, _ := su.Usage()
			if u.Input < 0 || u.Output < 0 || u.CachedInput < 0 || u.CacheWrite < 0 || u.Reasoning < 0 {
				t.Fatalf("negative usage %+v", u)
			}
			if _, _, err := UsageFromJSON(ep, stream); err == nil && !json.Valid(stream) {
				t.Fatal("UsageFromJSON accepted invalid JSON")
			}
		}
		if out, changed, err := EnsureIncludeUsage(stream); err == nil && changed && !json.Valid(out) {
			t.Fatalf("EnsureIncludeUsage produced invalid JSON %s", out)
		}
	})
}
