package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		err    *Error
		status int
		body   string
	}{
		{Malformed("bad \"json\""), 400, `{"type":"error","error":{"type":"invalid_request_error","message":"bad \"json\""}}`},
		{Unauthenticated("who?"), 401, `{"type":"error","error":{"type":"authentication_error","message":"who?"}}`},
		{Forbidden("model not allowed"), 403, `{"type":"error","error":{"type":"permission_error","message":"model not allowed"}}`},
		{TooLarge("too big"), 413, `{"type":"error","error":{"type":"request_too_large","message":"too big"}}`},
		{RateLimited("slow down"), 429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`},
		{Unavailable("try later"), 503, `{"type":"error","error":{"type":"api_error","message":"try later"}}`},
		{&Error{Status: 400, Type: "x", Message: "\xff"}, 400, `{"type":"error","error":{"type":"x","message":"\ufffd"}}`},
	}
	for _, tt := range tests {
		body := ErrorBody(tt.err)
		if tt.err.Status != tt.status || string(body) != tt.body {
			t.Errorf("%d %s\nwant %d %s", tt.err.Status, body, tt.status, tt.body)
		}
		var v struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if v.Type != "error" || v.Error.Type != tt.err.Type {
			t.Errorf("decoded %+v", v)
		}
		if !strings.HasPrefix(tt.err.Error(), "anthropic: ") {
			t.Errorf("Error() = %q", tt.err.Error())
		}
	}
}
