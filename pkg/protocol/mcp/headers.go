package mcp

// Streamable HTTP header names, lowercase as Envoy sends them.
const (
	HeaderSessionID       = "mcp-session-id"
	HeaderProtocolVersion = "mcp-protocol-version"
)

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
