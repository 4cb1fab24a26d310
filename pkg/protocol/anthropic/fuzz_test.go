package anthropic

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

func seedFiles(f *testing.F, pattern string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParseRequest checks that ParseRequest never panics, that what it
// accepts is valid JSON, that every Text's path resolves to its value and
// can be rewritten with sjson, and that what it rejects gets a sendable
// error.
func FuzzParseRequest(f *testing.F) {
	for _, b := range seedFiles(f, "requests/*.json") {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"1","name":"f","input":{"":"a","x.y":["b",{"@z":"c"}]}}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"text","text":"d"}]}}]}]}`))
	lim := Limits{MaxDepth: 16, MaxTexts: 64}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ep := range []Endpoint{Messages, CountTokens} {
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
	// Seeds are single events of the recorded streams: whole streams make
	// the fuzzer's minimisation crawl.
	for _, b := range seedFiles(f, "streams/*.sse") {
		for _, ev := range bytes.SplitAfter(b, []byte("\n\n")) {
			if bytes.Contains(ev, []byte("usage")) || bytes.Contains(ev, []byte("message_stop")) {
				f.Add(ev)
			}
		}
	}
	f.Add([]byte("event: message_delta\ndata: {\"usage\":{\"output_tokens\":-5,\"input_tokens\":1e30}}\n\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		su := NewStreamUsage(Messages)
		sc := sse.NewScanner(1 << 16)
		evs, _ := sc.Feed(stream)
		for _, ev := range evs {
			su.Event(ev)
		}
		su.Event(sse.Event{Data: stream})
		su.Event(sse.Event{Name: "message_start", Data: stream})
		su.Event(sse.Event{Name: "message_delta", Data: stream})
		u, _ := su.Usage()
		if u.Input < 0 || u.Output < 0 || u.CachedInput < 0 || u.CacheWrite < 0 || u.Reasoning < 0 {
			t.Fatalf("negative usage %+v", u)
		}
		if _, _, err := UsageFromJSON(Messages, stream); err == nil && !json.Valid(stream) {
			t.Fatal("UsageFromJSON accepted invalid JSON")
		}
	})
}
