package mcp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

// corpusDir returns shared/corpora/mcp, which CI clones beside the repository
// root (the directory holding go.mod). Tests that need it skip without it.
func corpusDir(t *testing.T) string {
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
	c := filepath.Join(dir, "..", "shared", "corpora", "mcp")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("MCP corpus not found at %s (clone shared/ beside the repository): %v", c, err)
	}
	return c
}

type corpusLine struct {
	Scenario  string          `json:"scenario"`
	Direction string          `json:"direction"`
	Seq       int             `json:"seq"`
	Raw       string          `json:"raw"`
	Message   json.RawMessage `json:"message"`
}

func TestGoSDKConformance(t *testing.T) {
	f, err := os.Open(filepath.Join(corpusDir(t), "go_sdk_conformance_messages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The client messages agentguard refuses, and the error each gets. The
	// go-sdk server rejected or ignored the same ones (see the bad_requests
	// scenario); agentguard answers -32602 where the go-sdk said -32600 for
	// missing params, as JSON-RPC reserves -32602 for that.
	type want struct {
		code int
		id   string
	}
	rejected := map[string]want{
		"bad_requests/0": {CodeInvalidRequest, ""},  // initialize without an id
		"bad_requests/1": {CodeInvalidParams, "1"},  // initialize without params
		"bad_requests/3": {CodeInvalidRequest, "3"}, // notification carrying an id
		"bad_requests/5": {CodeInvalidRequest, ""},  // ping without an id
		"bad_requests/6": {CodeInvalidParams, "4"},  // logging/setLevel without params
		"bad_requests/7": {CodeInvalidParams, "5"},  // completion/complete without params
		"bad_requests/8": {CodeInvalidRequest, "4"}, // params: null
		"prompts/4":      {CodeInvalidParams, "5"},  // prompts/get without params
		"resources/6":    {CodeInvalidParams, "4"},  // resources/read without params
		"resources/7":    {CodeInvalidParams, "5"},  // resources/subscribe without params
		"tools/5":        {CodeInvalidParams, "5"},  // tools/call without params
	}

	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var l corpusLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(fmt.Sprintf("%s/%s/%d", l.Scenario, l.Direction, l.Seq), func(t *testing.T) {
			parse := Parse
			if l.Direction == "server" {
				parse = ParseServer
			}
			b, err := parse([]byte(l.Raw), Limits{})
			if w, ok := rejected[fmt.Sprintf("%s/%d", l.Scenario, l.Seq)]; ok && l.Direction == "client" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("want *Error %d, got %v", w.code, err)
				}
				if e.Code != w.code || e.ID.String() != w.id {
					t.Errorf("got %d id=%s (%v), want %d id=%s", e.Code, e.ID, e, w.code, w.id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstDecoded(t, b.Messages[0], l.Message, l.Direction == "client")
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 99 {
		t.Errorf("read %d corpus lines, want 99", n)
	}
}

// checkAgainstDecoded compares a parsed message with the same message as
// decoded independently by the corpus' own "message" field.
func checkAgainstDecoded(t *testing.T, m Message, decoded []byte, client bool) {
	t.Helper()
	d := gjson.ParseBytes(decoded)
	var kind Kind
	switch {
	case d.Get("method").Exists() && d.Get("id").Exists():
		kind = KindRequest
	case d.Get("method").Exists():
		kind = KindNotification
	case d.Get("error").Exists():
		kind = KindError
	default:
		kind = KindResponse
	}
	if m.Kind != kind || m.Method != d.Get("method").String() {
		t.Errorf("got %v %q, want %v %q", m.Kind, m.Method, kind, d.Get("method").String())
	}
	if id := d.Get("id"); id.Exists() && !m.ID.Equal(newID(id)) {
		t.Errorf("id %s, want %s", m.ID, id.Raw)
	}
	if client && m.Method == "tools/call" && m.Tool != d.Get("params.name").String() {
		t.Errorf("tool %q", m.Tool)
	}
}

func TestSpecExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "examples_2026-07-28", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	envelopes := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !gjson.GetBytes(raw, "jsonrpc").Exists() {
			continue // bare params, results or types, not messages
		}
		envelopes++
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			for name, parse := range map[string]func([]byte, Limits) (*Body, error){"Parse": Parse, "ParseServer": ParseServer} {
				b, err := parse(raw, Limits{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				m := b.Messages[0]
				if want := gjson.GetBytes(raw, "id").Raw; string(m.ID.Raw()) != want {
					t.Errorf("%s: id %s, want byte-exact %s", name, m.ID, want)
				}
				checkAgainstDecoded(t, m, raw, name == "Parse")
			}
		})
	}
	if envelopes < 30 {
		t.Errorf("only %d JSON-RPC envelopes among the examples", envelopes)
	}
}
