// Package anthropic is agentguard's codec for the Anthropic Messages API:
// /v1/messages and /v1/messages/count_tokens. It reads request bodies into
// one typed view for policy and inspection (model, stream flag, max tokens,
// messages, every piece of text with its gjson path, declared tools and tool
// calls), reads token usage from JSON and SSE responses, and renders errors
// in Anthropic's shape. It knows nothing of Envoy, gRPC or policy.
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
// Text is taken from content blocks by member, whatever the block's type:
// "text" strings, "thinking" strings (kind reasoning), nested "content" (a
// tool result's, a search result's), document sources of type text or
// content, and every string inside a tool_use, server_tool_use or
// mcp_tool_use "input". Blocks of types this codec does not know are
// therefore still inspected. Images and base64 documents are not text.
//
// # Endpoints
//
// [EndpointFor] recognises POST to /v1/messages and
// /v1/messages/count_tokens, with or without the /v1 prefix, with any query
// string (the SDKs add ?beta=true), repeated slashes or a trailing slash. A
// POST it does not recognise (the Message Batches API among them) carries a
// body this codec has not inspected: callers should treat it as unknown
// traffic and decide by policy (deny by default).
//
// # Usage
//
// [Usage] is normalised across providers: Input counts every input token,
// so it is Anthropic's input_tokens plus cache_read_input_tokens
// (CachedInput) plus cache_creation_input_tokens (CacheWrite); Reasoning
// (output_tokens_details.thinking_tokens, when reported) is a part of Output.
//
// # Errors
//
// [Error] renders as {"type":"error","error":{"type","message"}}, with the
// status and type names of Anthropic's API documentation: 400
// invalid_request_error, 401 authentication_error, 403 permission_error, 413
// request_too_large, 429 rate_limit_error, and 503 api_error when agentguard
// fails closed.
package anthropic
