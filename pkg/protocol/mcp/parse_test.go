package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		file   string
		kind   Kind
		method string
		id     string
		tool   string
		args   string
		uri    string
		prompt string
	}{
		{file: "initialize.json", kind: KindRequest, method: "initialize", id: "1"},
		{file: "notification_initialized.json", kind: KindNotification, method: "notifications/initialized"},
		{file: "tools_list.json", kind: KindRequest, method: "tools/list", id: "2"},
		{file: "ping.json", kind: KindRequest, method: "ping", id: "1"},
		{file: "tools_call.json", kind: KindRequest, method: "tools/call", id: "6", tool: "greet", args: `{"Name": "you"}`},
		{file: "tools_call_meta.json", kind: KindRequest, method: "tools/call", id: "1", tool: "confirmThenGreet", args: `{}`},
		{file: "tools_call_spec.json", kind: KindRequest, method: "tools/call", id: `"call-tool-example"`, tool: "get_weather", args: "{\n      \"location\": \"New York\"\n    }"},
		{file: "resources_read.json", kind: KindRequest, method: "resources/read", id: "3", uri: "embedded:info"},
		{file: "prompts_get.json", kind: KindRequest, method: "prompts/get", id: `"get-prompt-example"`, prompt: "code_review"},
		{file: "client_response.json", kind: KindResponse, id: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := Parse(readTestdata(t, filepath.Join("valid", tt.file)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if b.Batch || len(b.Messages) != 1 {
				t.Fatalf("got batch=%v with %d messages, want one message", b.Batch, len(b.Messages))
			}
			m := b.Messages[0]
			if m.Kind != tt.kind || m.Method != tt.method || m.ID.String() != tt.id {
				t.Errorf("got kind=%v method=%q id=%s, want %v %q %s", m.Kind, m.Method, m.ID, tt.kind, tt.method, tt.id)
			}
			if m.Tool != tt.tool || string(m.Arguments) != tt.args || m.ResourceURI != tt.uri || m.Prompt != tt.prompt {
				t.Errorf("got tool=%q args=%q uri=%q prompt=%q", m.Tool, m.Arguments, m.ResourceURI, m.Prompt)
			}
			if (m.Kind == KindRequest || m.Kind == KindNotification) && m.Method != "ping" && m.Method != "tools/list" &&
				m.Method != "notifications/initialized" && len(m.Params) == 0 {
				t.Error("params not kept")
			}
		})
	}
}

func TestParseBatch(t *testing.T) {
	body := []byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},` +
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}},` +
		`{"jsonrpc":"2.0","id":"x","result":{}}]`)
	b, err := Parse(body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Batch || len(b.Messages) != 3 {
		t.Fatalf("got batch=%v len=%d", b.Batch, len(b.Messages))
	}
	want := []Kind{KindRequest, KindNotification, KindResponse}
	for i, m := range b.Messages {
		if m.Kind != want[i] {
			t.Errorf("message %d: kind %v, want %v", i, m.Kind, want[i])
		}
	}
	if b.Messages[0].Tool != "a" || b.Messages[2].ID.String() != `"x"` {
		t.Errorf("got %+v", b.Messages)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file  string
		code  int
		id    string // raw id expected on the error; "" for none
		index int
	}{
		{"not_json.txt", CodeParseError, "", 0},
		{"truncated.json", CodeParseError, "", 0},
		{"trailing_garbage.json", CodeParseError, "", 0},
		{"invalid_utf8.json", CodeParseError, "", 0},
		{"control_char.json", CodeParseError, "", 0},
		{"bom.json", CodeParseError, "", 0},
		{"scalar.json", CodeInvalidRequest, "", 0},
		{"missing_jsonrpc.json", CodeInvalidRequest, "1", 0},
		{"jsonrpc_1_0.json", CodeInvalidRequest, "1", 0},
		{"jsonrpc_number.json", CodeInvalidRequest, "1", 0},
		{"missing_method.json", CodeInvalidRequest, "7", 0},
		{"method_not_string.json", CodeInvalidRequest, "7", 0},
		{"method_empty.json", CodeInvalidRequest, "7", 0},
		{"id_true.json", CodeInvalidRequest, "", 0},
		{"id_object.json", CodeInvalidRequest, "", 0},
		{"id_array.json", CodeInvalidRequest, "", 0},
		{"id_null_request.json", CodeInvalidRequest, "", 0},
		{"id_null_result.json", CodeInvalidRequest, "", 0},
		{"result_and_error.json", CodeInvalidRequest, "3", 0},
		{"method_and_result.json", CodeInvalidRequest, "3", 0},
		{"error_bad_shape.json", CodeInvalidRequest, "3", 0},
		{"error_float_code.json", CodeInvalidRequest, "3", 0},
		{"empty_batch.json", CodeInvalidRequest, "", 0},
		{"batch_scalar.json", CodeInvalidRequest, "", 0},
		{"batch_second_invalid.json", CodeInvalidParams, `"b"`, 1},
		{"params_null.json", CodeInvalidRequest, "4", 0},
		{"params_string.json", CodeInvalidRequest, "4", 0},
		{"tools_call_no_params.json", CodeInvalidParams, "5", 0},
		{"tools_call_no_name.json", CodeInvalidParams, "5", 0},
		{"tools_call_name_number.json", CodeInvalidParams, "5", 0},
		{"tools_call_name_empty.json", CodeInvalidParams, "5", 0},
		{"tools_call_args_array.json", CodeInvalidParams, "5", 0},
		{"tools_call_args_null.json", CodeInvalidParams, "5", 0},
		{"tools_call_params_array.json", CodeInvalidParams, "5", 0},
		{"tools_call_dup_name.json", CodeInvalidParams, "5", 0},
		{"tools_call_case_name.json", CodeInvalidParams, "5", 0},
		{"tools_call_escaped_dup.json", CodeInvalidParams, "5", 0},
		{"tools_call_dup_arg.json", CodeInvalidParams, "5", 0},
		{"dup_method.json", CodeInvalidRequest, "", 0},
		{"case_method.json", CodeInvalidRequest, "", 0},
		{"notification_with_id.json", CodeInvalidRequest, "3", 0},
		{"request_without_id.json", CodeInvalidRequest, "", 0},
		{"resources_read_no_uri.json", CodeInvalidParams, `"r"`, 0},
		{"resources_read_uri_number.json", CodeInvalidParams, `"r"`, 0},
		{"prompts_get_name_bool.json", CodeInvalidParams, `"p"`, 0},
		{"string_id_escapes.json", CodeInvalidParams, `"a\"b\\c\u00e9"`, 0},
	}
	files, _ := filepath.Glob("testdata/invalid/*")
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/invalid, %d cases: keep them in step", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			assertParseError(t, readTestdata(t, filepath.Join("invalid", tt.file)), Limits{}, tt.code, tt.id, tt.index)
		})
	}
}

func assertParseError(t *testing.T, body []byte, lim Limits, code int, id string, index int) *Error {
	t.Helper()
	b, err := Parse(body, lim)
	if err == nil {
		t.Fatalf("Parse succeeded: %+v", b)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if e.Code != code || e.ID.String() != id || e.Index != index {
		t.Errorf("got code=%d id=%s index=%d (%v), want %d %s %d", e.Code, e.ID, e.Index, e, code, id, index)
	}
	return e
}

func TestParseLimits(t *testing.T) {
	msg := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	batch := func(n int) []byte {
		// Distinct ids: a batch may not repeat a request id.
		parts := make([]string, n)
		for i := range parts {
			parts[i] = strings.Replace(msg, `"id":1`, fmt.Sprintf(`"id":%d`, i+1), 1)
		}
		return []byte("[" + strings.Join(parts, ",") + "]")
	}
	t.Run("batch of 10000", func(t *testing.T) {
		e := assertParseError(t, batch(10000), Limits{}, CodeInvalidRequest, "", 0)
		if !strings.Contains(e.Message, "batch larger than 100") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("batch at the limit", func(t *testing.T) {
		b, err := Parse(batch(100), Limits{})
		if err != nil || len(b.Messages) != 100 {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("repeated request id in a batch", func(t *testing.T) {
		assertParseError(t, []byte("["+msg+","+msg+"]"), Limits{}, CodeInvalidRequest, "1", 1)
	})
	t.Run("custom batch limit", func(t *testing.T) {
		assertParseError(t, batch(3), Limits{MaxBatch: 2}, CodeInvalidRequest, "", 0)
	})
	t.Run("nested 10000 levels", func(t *testing.T) {
		body := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
		assertParseError(t, []byte(body), Limits{}, CodeParseError, "", 0)
	})
	t.Run("nested 10 MB unclosed", func(t *testing.T) {
		assertParseError(t, bytes.Repeat([]byte("{\"a\":"), 2<<20), Limits{}, CodeParseError, "", 0)
	})
	t.Run("nested in params", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"a","arguments":{"x":` +
			strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}}`
		assertParseError(t, []byte(body), Limits{}, CodeParseError, "", 0)
	})
	t.Run("brackets inside strings do not count", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":"[[[\"{{{","method":"tools/call","params":{"name":"a","arguments":{"x":"` +
			strings.Repeat("[{", 5000) + `\\"}}}`
		b, err := Parse([]byte(body), Limits{MaxDepth: 4})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Messages[0].ID.String(); got != `"[[[\"{{{"` {
			t.Errorf("id %s", got)
		}
	})
	t.Run("depth exactly at the limit", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat("[", 3) + strings.Repeat("]", 3) + `}`
		if _, err := Parse([]byte(body), Limits{MaxDepth: 4}); err != nil {
			t.Fatal(err)
		}
		assertParseError(t, []byte(body), Limits{MaxDepth: 3}, CodeParseError, "", 0)
	})
}

func TestIDRoundTrip(t *testing.T) {
	for _, raw := range []string{`7`, `0`, `-1`, `12345678901234567890`, `1.5e300`, `0.1`, `"abc"`, `"a\"b\\c\u00e9\n"`, `""`} {
		t.Run(raw, func(t *testing.T) {
			// A response may carry any number id; requests take integers.
			b, err := ParseServer([]byte(`{"jsonrpc":"2.0","id":`+raw+`,"result":{}}`), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			id := b.Messages[0].ID
			if string(id.Raw()) != raw || id.String() != raw || id.IsZero() {
				t.Errorf("id %s, want %s", id, raw)
			}
			p, ok := ParseID([]byte(raw))
			if !ok || !p.Equal(id) {
				t.Errorf("ParseID(%s) = %s, %v", raw, p, ok)
			}
		})
	}
	a, _ := ParseID([]byte(`"a"`))
	esc, _ := ParseID([]byte(`"\u0061"`))
	one, _ := ParseID([]byte(`1`))
	str1, _ := ParseID([]byte(`"1"`))
	if !a.Equal(esc) || one.Equal(str1) || (ID{}).Equal(one) {
		t.Error("ID.Equal")
	}
	if _, ok := ParseID([]byte(`true`)); ok {
		t.Error("ParseID accepted true")
	}
}

func TestRequestIDsAreStringsOrIntegers(t *testing.T) {
	for _, raw := range []string{`1.0`, `1e0`, `0.1`, `-2E3`} {
		assertParseError(t, []byte(`{"jsonrpc":"2.0","id":`+raw+`,"method":"ping"}`), Limits{}, CodeInvalidRequest, "", 0)
	}
}

func TestLookalikeMethods(t *testing.T) {
	for _, m := range []string{"Tools/call", "tools/call ", "TOOLS/LIST", "ｔｏｏｌｓ/call", "Notifications/initialized"} {
		assertParseError(t, []byte(`{"jsonrpc":"2.0","id":1,"method":"`+m+`","params":{"name":"x"}}`), Limits{}, CodeInvalidRequest, "1", 0)
	}
	for _, m := range []string{"tools/call", "vendor/Custom", "x/notifications/Odd"} {
		if _, err := Parse([]byte(`{"jsonrpc":"2.0","id":1,"method":"`+m+`","params":{"name":"x"}}`), Limits{}); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

func TestNestedArgumentKeysMustNotCollide(t *testing.T) {
	for _, args := range []string{`{"opts":{"path":"a","PATH":"/etc"}}`, `{"l":[{"a":1,"A":2}]}`, `{"Event":1,"event":2}`} {
		assertParseError(t, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":`+args+`}}`), Limits{}, CodeInvalidParams, "1", 0)
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		file string
		kind Kind
		id   string
	}{
		{"tools_list_go_sdk.json", KindResponse, "2"},
		{"tools_list_spec.json", KindResponse, `"list-tools-example"`},
		{"error_missing_params.json", KindError, "1"},
		{"server_request_roots.json", KindRequest, "1"},
		{"call_tool_result.json", KindResponse, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := ParseServer(readTestdata(t, filepath.Join("responses", tt.file)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m := b.Messages[0]; m.Kind != tt.kind || m.ID.String() != tt.id {
				t.Errorf("got %v %s, want %v %s", m.Kind, m.ID, tt.kind, tt.id)
			}
		})
	}
	t.Run("null id on error response", func(t *testing.T) {
		b, err := ParseServer([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m := b.Messages[0]; m.Kind != KindError || !m.ID.IsNull() || m.ID.IsZero() {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("server request params not policed", func(t *testing.T) {
		if _, err := ParseServer([]byte(`{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}`), Limits{}); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParseToolsCall(b *testing.B) {
	args := `{"repo":"agentguard/agentguard","path":"pkg/protocol/mcp/parse.go","query":"` + strings.Repeat("needle haystack ", 50) +
		`","options":{"caseSensitive":false,"maxResults":50,"include":["*.go","*.md"],"exclude":["vendor/**"]}}`
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"_meta":{"progressToken":"p-42"},"name":"search_code","arguments":` + args + `}}`)
	if _, err := Parse(body, Limits{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Policy must read the tool name exactly as a Go server's encoding/json will,
// including for broken surrogate escapes.
func TestToolNameUnescapeMatchesEncodingJSON(t *testing.T) {
	for _, n := range []string{`"\ud800"`, `"\ud800\udc00"`, `"\udc00\ud800"`, `"\ud83d\ude00x"`, `"a\u0000b"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`} {
		t.Run(n, func(t *testing.T) {
			b, err := Parse([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":`+n+`}}`), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var want string
			if err := json.Unmarshal([]byte(n), &want); err != nil {
				t.Fatal(err)
			}
			if got := b.Messages[0].Tool; got != want {
				t.Errorf("tool %q, encoding/json reads %q", got, want)
			}
		})
	}
}
