package mcp

import (
	"testing"
)

func TestValidProtocolVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true, "2026-07-28": true,
		"2029-01-01": true, // unknown but well-formed: negotiation is the server's job
		"":           false, "2025-13-01": false, "2025-00-10": false, "2025-01-32": false, "2025-01-00": false,
		"2025-1-01": false, "2025/01/01": false, "2025-01-01 ": false, "latest": false, "２025-01-01": false,
		"2025-01-01\r\nx: y": false,
	} {
		if got := ValidProtocolVersion(v); got != want {
			t.Errorf("ValidProtocolVersion(%q) = %v", v, got)
		}
	}
}
