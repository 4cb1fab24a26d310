package openai

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
		{Malformed("bad \"json\""), 400, `{"error":{"message":"bad \"json\"","type":"invalid_request_error","param":null,"code":null}}`},
		{Unauthenticated("who?"), 401, `{"error":{"message":"who?","type":"authentication_error","param":null,"code":"unauthenticated"}}`},
		{Forbidden("model not allowed"), 403, `{"error":{"message":"model not allowed","type":"permission_error","param":null,"code":"policy_denied"}}`},
		{TooLarge("too big"), 413, `{"error":{"message":"too big","type":"invalid_request_error","param":null,"code":"request_too_large"}}`},
		{RateLimited("slow down"), 429, `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{Unavailable("try later"), 503, `{"error":{"message":"try later","type":"server_error","param":null,"code":"service_unavailable"}}`},
		{&Error{Status: 400, Type: "x", Message: "bad \xff utf8 <script>"}, 400, `{"error":{"message":"bad \ufffd utf8 \u003cscript\u003e","type":"x","param":null,"code":null}}`},
	}
	for _, tt := range tests {
		body := ErrorBody(tt.err)
		if tt.err.Status != tt.status || string(body) != tt.body {
			t.Errorf("%d %s\nwant %d %s", tt.err.Status, body, tt.status, tt.body)
		}
		var v struct {
			Error struct {
				Message string  `json:"message"`
				Type    string  `json:"type"`
				Param   *string `json:"param"`
				Code    *string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if v.Error.Type != tt.err.Type || v.Error.Param != nil {
			t.Errorf("decoded %+v", v)
		}
		if !strings.HasPrefix(tt.err.Error(), "openai: ") {
			t.Errorf("Error() = %q", tt.err.Error())
		}
	}
}
