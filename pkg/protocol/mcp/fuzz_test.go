package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func addTestdataSeeds(f *testing.F, dirs ...string) {
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join("testdata", d, "*"))
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
}

// FuzzParse checks that Parse never panics, that what it accepts is valid
// JSON-RPC 2.0 by encoding/json's reading too (including which tool is
// named: the two must agree), and that what it rejects gets a sendable error.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f, "valid", "invalid", "responses")
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800\u0041","Arguments":{"a":1,"A":2}}}`))
	lim := Limits{MaxBatch: 8, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte, Limits) (*Body, error){Parse, ParseServer} {
			b, err := parse(body, lim)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not *Error", err)
				}
				switch e.Code {
				case CodeParseError:
					if utf8.Valid(body) && json.Valid(body) && !strings.Contains(e.Message, "deep") {
						t.Fatalf("valid JSON rejected as parse error: %v", e)
					}
				case CodeInvalidRequest, CodeInvalidParams:
				default:
					t.Fatalf("unexpected code %d", e.Code)
				}
				if !json.Valid(e.Body()) {
					t.Fatalf("error body invalid: %s", e.Body())
				}
				continue
			}
			if !json.Valid(body) || !utf8.Valid(body) {
				t.Fatalf("accepted invalid JSON")
			}
			if len(b.Messages) == 0 || len(b.Messages) > lim.MaxBatch {
				t.Fatalf("%d messages", len(b.Messages))
			}
			var raw []json.RawMessage
			if b.Batch {
				if err := json.Unmarshal(body, &raw); err != nil {
					t.Fatal(err)
				}
			} else {
				raw = []json.RawMessage{bytes.TrimSpace(body)}
			}
			if len(raw) != len(b.Messages) {
				t.Fatalf("%d messages, encoding/json sees %d", len(b.Messages), len(raw))
			}
			for i, m := range b.Messages {
				checkFuzzedMessage(t, m, raw[i])
			}
		}
	})
}

func checkFuzzedMessage(t *testing.T, m Message, raw []byte) {
	var v struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"params"`
	}
	// Struct decoding is case-insensitive and last-wins: the reading a Go
	// MCP server would make.
	_ = json.Unmarshal(raw, &v)
	if v.JSONRPC != "2.0" {
		t.Fatalf("accepted jsonrpc %q", v.JSONRPC)
	}
	if m.Method != v.Method {
		t.Fatalf("method %q, encoding/json reads %q", m.Method, v.Method)
	}
	switch id := bytes.TrimSpace(v.ID); {
	case m.ID.IsZero():
		if len(id) != 0 {
			t.Fatalf("zero id but encoding/json reads %s", id)
		}
	case m.ID.IsNull():
		if m.Kind != KindError {
			t.Fatalf("null id on %v", m.Kind)
		}
	default:
		if c := m.ID.Raw()[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
			t.Fatalf("id %s", m.ID)
		}
		if !bytes.Equal(id, m.ID.Raw()) {
			t.Fatalf("id %s, encoding/json reads %s", m.ID, id)
		}
	}
	if m.Tool != "" && m.Tool != v.Params.Name {
		t.Fatalf("tool %q, encoding/json reads %q", m.Tool, v.Params.Name)
	}
	if m.Prompt != "" && m.Prompt != v.Params.Name {
		t.Fatalf("prompt %q, encoding/json reads %q", m.Prompt, v.Params.Name)
	}
	if m.ResourceURI != "" && m.ResourceURI != v.Params.URI {
		t.Fatalf("uri %q, encoding/json reads %q", m.ResourceURI, v.Params.URI)
	}
	if m.Arguments != nil && !json.Valid(m.Arguments) {
		t.Fatal("arguments invalid")
	}
}

// FuzzFilterToolsList checks that output is valid JSON whenever filtering
// succeeds, and that a last-wins, case-insensitive reader (encoding/json into
// a struct) sees only tools that keep allowed.
func FuzzFilterToolsList(f *testing.F) {
	addTestdataSeeds(f, "responses")
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"bb"}],"nextCursor":"x"}}`))
	keep := func(name string) bool { return len(name)%2 == 1 }
	f.Fuzz(func(t *testing.T, resp []byte) {
		out, changed, err := FilterToolsList(resp, keep)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %q from %q", out, resp)
		}
		if !changed && !bytes.Equal(out, resp) {
			t.Fatal("unchanged but different bytes")
		}
		var v struct {
			Result struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			return // shapes encoding/json cannot put in this struct
		}
		for _, tool := range v.Result.Tools {
			if !keep(tool.Name) {
				t.Fatalf("tool %q survived the filter: %s", tool.Name, out)
			}
		}
	})
}
