package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/gjson"
)

func TestEnsureIncludeUsage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // "" means unchanged
		changed bool
	}{
		{"adds when missing", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"x":{"y":[1,2.50]}}`,
			`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"x":{"y":[1,2.50]},"stream_options":{"include_usage":true}}`, true},
		{"keeps when true", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, "", false},
		{"sets when false", `{"model":"m","stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false}}`,
			`{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}`, true},
		{"adds to existing options", `{"stream":true,"stream_options":{"include_obfuscation":false} }`,
			`{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true} }`, true},
		{"replaces null options", `{"stream": true, "stream_options": null}`, `{"stream": true, "stream_options": {"include_usage":true}}`, true},
		{"no-op when not streaming", `{"model":"m","stream":false}`, "", false},
		{"no-op when stream absent", `{"model":"m"}`, "", false},
		{"keeps formatting", "{\n  \"stream\": true,\n  \"messages\": []\n}", "{\n  \"stream\": true,\n  \"messages\": []\n,\"stream_options\":{\"include_usage\":true}}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := bytes.Clone(in)
			out, changed, err := EnsureIncludeUsage(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("input modified")
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if changed != tt.changed || string(out) != want {
				t.Fatalf("got %s changed=%v\nwant %s changed=%v", out, changed, want, tt.changed)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
			if tt.changed && !gjson.GetBytes(out, "stream_options.include_usage").Bool() {
				t.Fatal("include_usage not set")
			}
		})
	}
	for _, bad := range []string{`nope`, `{"stream":true,"stream_options":"x"}`, `{"stream":true,"stream":false}`,
		`{"stream":true,"stream_options":{"include_usage":true,"include_usage":false}}`} {
		_, _, err := EnsureIncludeUsage([]byte(bad))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 {
			t.Errorf("EnsureIncludeUsage(%s) err = %v", bad, err)
		}
	}
	// A recorded request keeps every other member.
	body := readTestdata(t, "requests/chat_streaming_no_usage.json")
	out, changed, err := EnsureIncludeUsage(body)
	if err != nil || !changed {
		t.Fatal(err, changed)
	}
	r, err := ParseRequest(ChatCompletions, out, Limits{})
	if err != nil || !r.IncludeUsage || r.Model != "gpt-5-nano" || len(r.Texts) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(body, &a)
	_ = json.Unmarshal(out, &b)
	delete(b, "stream_options")
	if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
		t.Fatalf("members changed:\n%s\n%s", ja, jb)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
