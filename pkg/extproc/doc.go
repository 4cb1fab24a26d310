// Package extproc is the Envoy ext_proc adapter: it serves
// envoy.service.ext_proc.v3.ExternalProcessor/Process, turning each stream's
// ProcessingRequests into calls on one engine.Exchange and its Results into
// ProcessingResponses. It holds no policy of its own.
//
// The conversation it expects is Envoy's (ext_proc filter docs and
// external_processor.proto): request headers, then the request body
// (BUFFERED: one message; STREAMED: one per chunk), then response headers and
// body likewise; trailers only when their mode is SEND. A mode_override is
// sent only in answer to a headers message, where Envoy honours it (with
// allow_mode_override). Header mutations are written as raw_value with
// OVERWRITE_IF_EXISTS_OR_ADD, which current Envoy requires; header values
// are read from raw_value, or value from older Envoys.
package extproc
