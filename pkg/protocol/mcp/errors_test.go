package mcp

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustID(t *testing.T, raw string) ID {
	t.Helper()
	id, ok := ParseID([]byte(raw))
	if !ok {
		t.Fatalf("bad id %s", raw)
	}
	return id
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		name string
		id   string // "" for the zero ID
		code int
		msg  string
		data map[string]string
		want string
	}{
		{"number", "7", CodePolicyDenied, "denied by policy", nil,
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32051,"message":"denied by policy"}}`},
		{"no id", "", CodeParseError, "parse error", nil,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
		{"escaped string id", `"a\"b\\c\u00e9"`, CodeInvalidRequest, "bad", nil,
			`{"jsonrpc":"2.0","id":"a\"b\\c\u00e9","error":{"code":-32600,"message":"bad"}}`},
		{"big integer id", "12345678901234567890", CodeRateLimited, "slow down", map[string]string{"retryAfter": "3"},
			`{"jsonrpc":"2.0","id":12345678901234567890,"error":{"code":-32052,"message":"slow down","data":{"retryAfter":"3"}}}`},
		{"float id", "1.5e3", CodeUnavailable, "unavailable", map[string]string{}, // empty data omitted
			`{"jsonrpc":"2.0","id":1.5e3,"error":{"code":-32055,"message":"unavailable"}}`},
		{"message needing escapes", `"x"`, CodePolicyDenied, "tool \"rm\"\n\u2028<b>", map[string]string{"rule": "no\trm", "agent": "spiffe://a/b"},
			`{"jsonrpc":"2.0","id":"x","error":{"code":-32051,"message":"tool \"rm\"\n\u2028\u003cb\u003e","data":{"agent":"spiffe://a/b","rule":"no\trm"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id ID
			if tt.id != "" {
				id = mustID(t, tt.id)
			}
			got := ErrorBody(id, tt.code, tt.msg, tt.data)
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var v struct {
				ID    json.RawMessage `json:"id"`
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(got, &v); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
			if v.Error.Message != tt.msg {
				t.Errorf("message decodes to %q", v.Error.Message)
			}
			// The rendered error must itself be a valid server message.
			if b, err := ParseServer(got, Limits{}); err != nil || b.Messages[0].Kind != KindError {
				t.Errorf("ParseServer: %v", err)
			}
		})
	}
}

func TestBatchErrorBody(t *testing.T) {
	got := BatchErrorBody([]ErrorEntry{
		{ID: mustID(t, "1"), Code: CodePolicyDenied, Message: "denied by policy"},
		{Code: CodePolicyDenied, Message: "notification: no entry"},
		{ID: mustID(t, `"b\n"`), Code: CodeInvalidParams, Message: "bad", Data: map[string]string{"k": "v"}},
	})
	want := `[{"jsonrpc":"2.0","id":1,"error":{"code":-32051,"message":"denied by policy"}},` +
		`{"jsonrpc":"2.0","id":"b\n","error":{"code":-32602,"message":"bad","data":{"k":"v"}}}]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Error("invalid JSON")
	}
	if b := BatchErrorBody([]ErrorEntry{{Code: 1, Message: "x"}}); b != nil {
		t.Errorf("all notifications: got %s, want nil", b)
	}
	if b := BatchErrorBody(nil); b != nil {
		t.Errorf("empty: got %s", b)
	}
}

func TestErrorError(t *testing.T) {
	_, err := Parse([]byte(`{"jsonrpc":"2.0","id":"q","method":"tools/call"}`), Limits{})
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got %T", err)
	}
	if s := e.Error(); !strings.Contains(s, "-32602") || !strings.Contains(s, `"q"`) {
		t.Errorf("Error() = %q", s)
	}
	if want := `{"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"invalid params: \"tools/call\" requires params"}}`; string(e.Body()) != want {
		t.Errorf("Body() = %s", e.Body())
	}
}
