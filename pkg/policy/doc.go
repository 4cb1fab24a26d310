// Package policy decides. It compiles a profile's tool allowlists and CEL
// rules once, at config load, into a Set, and evaluates a Set over one Input
// (agent, request, protocol view) into one Decision naming the rule that
// made it. It knows nothing of Envoy, gRPC or wire formats.
//
// Semantics, in order:
//  1. MCP built-ins: the agent must be granted the server by some tool rule;
//     a tools/call is denied by any matching deny pattern (matched on a
//     case- and width-folded name, so look-alikes of a forbidden name are
//     still forbidden) and must match an allow pattern exactly.
//  2. CEL rules, in order: the first "deny" rule that is true denies; the
//     first "require" rule that is false denies.
//  3. Where the profile has "allow" rules, at least one must be true.
//
// A rule that fails to evaluate (a missing key, a type error, the cost limit,
// the deadline) denies, naming itself, with Decision.EvalErr saying why. It
// is not an agentguard failure: failure_mode open must not let a client pass
// a rule by making it fail.
package policy
