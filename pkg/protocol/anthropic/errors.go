package anthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an error to send to an Anthropic client, in Anthropic's shape.
type Error struct {
	Status  int    // HTTP status
	Type    string // error.type
	Message string // error.message
}

func (e *Error) Error() string {
	return fmt.Sprintf("anthropic: %d %s: %s", e.Status, e.Type, e.Message)
}

// Error types, as Anthropic's API documentation names them.
const (
	TypeInvalidRequest  = "invalid_request_error"
	TypeAuthentication  = "authentication_error"
	TypePermission      = "permission_error"
	TypeNotFound        = "not_found_error"
	TypeRequestTooLarge = "request_too_large"
	TypeRateLimit       = "rate_limit_error"
	TypeAPI             = "api_error"
	TypeOverloaded      = "overloaded_error"
)

// Malformed is 400 invalid_request_error: the body cannot be accepted.
func Malformed(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Message: msg}
}

// Unauthenticated is 401 authentication_error: the caller's identity could
// not be established.
func Unauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Type: TypeAuthentication, Message: msg}
}

// Forbidden is 403 permission_error: denied by policy.
func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Type: TypePermission, Message: msg}
}

// TooLarge is 413 request_too_large: the request exceeds a size limit.
func TooLarge(msg string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: TypeRequestTooLarge, Message: msg}
}

// RateLimited is 429 rate_limit_error: a rate, token or budget limit was
// reached. The caller adds Retry-After.
func RateLimited(msg string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Type: TypeRateLimit, Message: msg}
}

// Unavailable is 503 api_error: agentguard failed and refused the request
// (fail-closed). SDKs retry it.
func Unavailable(msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: TypeAPI, Message: msg}
}

// ErrorBody renders e as {"type":"error","error":{"type":…,"message":…}}.
func ErrorBody(e *Error) []byte {
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
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
