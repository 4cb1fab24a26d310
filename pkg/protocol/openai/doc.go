// Package openai is agentguard's codec for the OpenAI HTTP API: Chat
// Completions, Responses, Embeddings and the legacy Completions endpoint. It
// reads request bodies into one typed view for policy and inspection (model,
// stream flag, max tokens, messages, every piece of text with its gjson path,
// declared tools and tool calls), reads token usage from JSON and SSE
// responses, asks streaming chat completions to report usage, and renders
// errors in OpenAI's shape. It knows nothing of Envoy, gRPC or policy.
//
// Bodies are read with gjson and never unmarshalled whole; members the codec
// does not read pass untouched. Before gjson sees a request, one linear scan
// checks UTF-8 and nesting depth, so a hostile body costs O(n) and gjson's
// recursion stays bounded by [Limits.MaxDepth].
//
// # Paths
//
// Every [Text] carries the gjson path of its string (object keys escaped with
// gjson.Escape, array elements by index), which sjson accepts unchanged, so a
// redactor can rewrite exactly that string. A member name repeated in any
// object the codec reads is rejected: JSON decoders disagree on which copy
// wins, and the provider must not read a string that inspection did not.
//
// # Endpoints
//
// [EndpointFor] recognises POST to /v1/chat/completions, /v1/responses,
// /v1/embeddings and /v1/completions, with or without the /v1 prefix, with
// any query string, repeated slashes or a trailing slash. Azure-style
// deployment paths are out of scope. A POST that EndpointFor does not
// recognise carries a body this codec has not inspected: callers should
// treat it as unknown traffic and decide by policy (deny by default).
//
// # Usage
//
// [Usage] is normalised across providers: Input counts every input token,
// cached and cache-write tokens included (OpenAI's prompt_tokens/input_tokens
// already do); CachedInput and CacheWrite are parts of Input; Reasoning is a
// part of Output.
//
// # Errors
//
// [Error] renders as {"error":{"message","type","param":null,"code"}}. The
// constructors use the status and type names the OpenAI API and its SDKs
// use: 400 invalid_request_error, 401 authentication_error, 403
// permission_error, 413 invalid_request_error (code request_too_large), 429
// rate_limit_error (code rate_limit_exceeded), 503 server_error.
package openai
