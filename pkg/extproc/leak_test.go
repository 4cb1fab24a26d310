package extproc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"net/http/httptest"
)

// A secret sent by a client, in tool arguments or in headers, must not come
// back out of agentguard: not in replies, audit records, logs or metrics.
// (Identifiers are recorded by design: the tool name called and a verified
// SPIFFE ID are what an audit record is for.)
func TestSecretsDoNotLeak(t *testing.T) {
	const secret = "ghp_SECRETSECRETSECRETSECRET0123456789"
	f := newFakeEnvoy(t, nil)
	bodies := map[string][]byte{
		"allowed call, argument not loggable": readTestdata(t, "tools_call_secret_arg.json"),
		"denied call":                         []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repository","arguments":{"token":"` + secret + `"}}}`),
		"malformed body":                      []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":"` + secret + `"}}`),
	}
	headerSets := []map[string]string{
		{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "authorization": "Bearer " + secret},
		{"x-agent-id": secret, "x-mcp-server": "github"},
		{"x-forwarded-client-cert": `Hash="` + secret, "x-mcp-server": "github"},
		{"x-agent-id": "code-reviewer", "x-mcp-server": secret},
		{"x-agent-id": "code-reviewer", "x-mcp-server": "github", "mcp-protocol-version": secret},
	}
	var replies bytes.Buffer
	for _, body := range bodies {
		for _, hs := range headerSets {
			c := f.open("mcp")
			h := mcpHeaders(hs)
			h[":path"] = "/mcp?access_token=" + secret
			r := c.requestHeaders(h, false)
			if ir := r.GetImmediateResponse(); ir != nil {
				replies.Write(ir.GetBody())
			} else {
				r = c.requestBody(body, true)
				if ir := r.GetImmediateResponse(); ir != nil {
					replies.Write(ir.GetBody())
				}
			}
			c.close()
		}
	}
	waitFor(t, func() bool { return strings.Count(f.audit.String(), "\n") >= len(bodies)*len(headerSets) })
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(f.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for where, text := range map[string]string{
		"replies": replies.String(), "audit": f.audit.String(), "logs": f.logs.String(), "metrics": rec.Body.String(),
	} {
		if strings.Contains(text, "SECRETSECRET") {
			i := strings.Index(text, "SECRETSECRET")
			t.Errorf("secret in %s: …%s…", where, text[max(0, i-120):min(len(text), i+40)])
		}
	}
}
