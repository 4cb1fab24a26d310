// Package mcp is agentguard's codec for the Model Context Protocol: JSON-RPC 2.0
// messages carried over Streamable HTTP. It parses and validates request and
// response bodies, extracts what policy needs (method, tool, arguments,
// resource URI, prompt), renders JSON-RPC errors, and filters tools/list
// results. It knows nothing of Envoy, gRPC or policy.
//
// Bodies are read with gjson and never unmarshalled whole. Before gjson sees a
// body, one linear scan checks UTF-8 and nesting depth, so a hostile body costs
// O(n) and gjson's recursion stays bounded by [Limits.MaxDepth].
//
// # Error codes
//
// Standard JSON-RPC codes, used for malformed input:
//
//	-32700  CodeParseError       not JSON, invalid UTF-8, nested too deep
//	-32600  CodeInvalidRequest   not a JSON-RPC 2.0 message, empty or oversized batch
//	-32601  CodeMethodNotFound   (for callers)
//	-32602  CodeInvalidParams    MCP method parameters missing or of the wrong type
//	-32603  CodeInternalError    (for callers)
//
// agentguard's own codes, in JSON-RPC's implementation-defined server-error
// range (-32000 to -32099):
//
//	-32051  CodePolicyDenied     denied by policy
//	-32052  CodeRateLimited      rate, token or budget limit reached
//	-32053  CodeUnauthenticated  the agent's identity could not be established
//	-32054  CodeTooLarge         the request exceeds a size limit
//	-32055  CodeUnavailable      agentguard failed and the request was refused (fail-closed)
//
// They sit clear of the codes MCP and its SDKs use in the same range (-32000
// connection closed, -32001 request timeout, -32002 resource not found,
// -32020..-32022, -32042); the error's data names the deciding rule.
package mcp
