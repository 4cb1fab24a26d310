package mcp

// Streamable HTTP header names, lowercase as Envoy sends them.
const (
	HeaderSessionID       = "mcp-session-id"
	HeaderProtocolVersion = "mcp-protocol-version"
)

// knownVersions are the MCP revisions agentguard has been checked against.
var knownVersions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

// KnownProtocolVersion reports whether v is a revision agentguard knows.
func KnownProtocolVersion(v string) bool {
	for _, k := range knownVersions {
		if v == k {
			return true
		}
	}
	return false
}

// ValidProtocolVersion reports whether v is shaped like an MCP revision, a
// date YYYY-MM-DD with month 01–12 and day 01–31. Unknown but well-formed
// revisions are accepted: version negotiation is the server's job, and a
// gateway that rejected new dates would break clients on every spec release.
// Anything else (garbage, injection attempts) is rejected.
func ValidProtocolVersion(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i != 4 && i != 7 && (v[i] < '0' || v[i] > '9') {
			return false
		}
	}
	month := int(v[5]-'0')*10 + int(v[6]-'0')
	day := int(v[8]-'0')*10 + int(v[9]-'0')
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// ValidToolName reports whether name follows the MCP 2025-11-25 tool-name
// guidance: 1 to 128 characters, each an ASCII letter, digit, '_', '-' or
// '.'. The spec says SHOULD, so this is for policy to use, not for Parse.
// (SEP-986's draft also allowed '/'; the published 2025-11-25 text does not.)
func ValidToolName(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
