// Package engine is the pipeline over one exchange (one HTTP request and its
// response): select the profile, identify the agent, parse the body with the
// profile's protocol, decide with the policy Set, act, and record.
//
// It knows nothing of gRPC: the Envoy adapters (extproc, and later extauthz)
// translate their messages into calls on an Exchange and its Results back
// into Envoy's types. One Exchange holds all per-stream state and is used by
// one goroutine; the Engine and its Runtime are shared and immutable, the
// Runtime swapped atomically on reload. An Exchange keeps the Runtime it
// started with, so a reload never changes the rules halfway through a request.
package engine
