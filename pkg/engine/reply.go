package engine

import (
	"encoding/json"
)

// jsonReply is a Reply with a JSON body.
func jsonReply(status int, body []byte) *Reply {
	return &Reply{
		Status:  status,
		Headers: []HeaderValue{{Name: "content-type", Value: "application/json"}},
		Body:    body,
	}
}

// plainErrorBody is the error shape of profiles without a protocol of their
// own: {"error":{"code":"forbidden","message":"…","rule":"…"}}.
func plainErrorBody(d denial) []byte {
	type inner struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Rule    string `json:"rule,omitempty"`
	}
	b, _ := json.Marshal(struct {
		Error inner `json:"error"`
	}{inner{Code: codeWord(d), Message: d.message, Rule: d.rule}})
	return b
}

func codeWord(d denial) string {
	switch d.kind {
	case denyUnauthenticated:
		return "unauthenticated"
	case denyMalformed:
		return "invalid_request"
	case denyTooLarge:
		return "request_too_large"
	case denyUnavailable:
		return "unavailable"
	case denyRateLimited:
		return "rate_limited"
	}
	return "forbidden"
}
