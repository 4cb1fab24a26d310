package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an error to send to an OpenAI client, in OpenAI's shape.
type Error struct {
	Status  int    // HTTP status
	Type    string // error.type
	Code    string // error.code; "" renders as null
	Message string // error.message
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("openai: %d %s: %s", e.Status, e.Type, e.Message)
	}
	return fmt.Sprintf("openai: %d %s (%s): %s", e.Status, e.Type, e.Code, e.Message)
}

// Error types used by the constructors.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
)

// Malformed is 400 invalid_request_error: the body cannot be accepted.
func Malformed(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Message: msg}
}

// Unauthenticated is 401 authentication_error: the caller's identity could
// not be established.
func Unauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Type: TypeAuthentication, Code: "unauthenticated", Message: msg}
}

// Forbidden is 403 permission_error: denied by policy.
func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Type: TypePermission, Code: "policy_denied", Message: msg}
}

// TooLarge is 413: the request exceeds a size limit.
func TooLarge(msg string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: TypeInvalidRequest, Code: "request_too_large", Message: msg}
}

// RateLimited is 429 rate_limit_error with OpenAI's code rate_limit_exceeded:
// a rate, token or budget limit was reached. The caller adds Retry-After.
func RateLimited(msg string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Type: TypeRateLimit, Code: "rate_limit_exceeded", Message: msg}
}

// Unavailable is 503 server_error: agentguard failed and refused the request
// (fail-closed). SDKs retry it.
func Unavailable(msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: TypeServer, Code: "service_unavailable", Message: msg}
}

// ErrorBody renders e as {"error":{"message":…,"type":…,"param":null,"code":…}}.
func ErrorBody(e *Error) []byte {
	b := make([]byte, 0, 96+len(e.Message))
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"param":null,"code":`...)
	if e.Code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, e.Code)
	}
	return append(b, "}}"...)
}

// appendString appends s as a JSON string. encoding/json cannot fail on a
// string (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	enc, err := json.Marshal(s)
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, enc...)
}
