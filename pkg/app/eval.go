package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/agentguard/agentguard/pkg/credentials"

	"github.com/agentguard/agentguard/pkg/engine"
)

// evalCmd dry-runs one request offline and prints the decision and the
// rule that made it. Exit code: 0 allowed, 1 denied, 2 usage or config error.
func evalCmd(ctx context.Context, args []string, env Env) int {
	fs := newFlags("eval", env)
	path := fs.String("config", "", "config file (default: the embedded default deployment)")
	profile := fs.String("profile", "", "profile, as Envoy would name it in x-agentguard-profile")
	port := fs.Int("port", 0, "destination port, for profile matchers")
	method := fs.String("method", "", "HTTP method (default POST with a body, GET without)")
	reqPath := fs.String("path", "/mcp", "HTTP path")
	authority := fs.String("authority", "localhost", "HTTP authority")
	bodyFile := fs.String("body", "", "request body file, or - for stdin")
	var hdrs headerFlags
	fs.Var(&hdrs, "H", "request header 'name: value' (repeatable)")
	if fs.Parse(args) != nil {
		return 2
	}
	rt, _, err := loadRuntime(*path)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 2
	}
	var body []byte
	switch *bodyFile {
	case "":
	case "-":
		body, err = io.ReadAll(os.Stdin)
	default:
		body, err = os.ReadFile(*bodyFile)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "read body:", err)
		return 2
	}
	h, err := buildHeaders(hdrs, *method, *reqPath, *authority, body != nil)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 2
	}
	e := engine.New(rt, engine.Options{})
	out := e.Evaluate(ctx, engine.Meta{Profile: *profile, DestinationPort: *port}, h, body)
	printOutcome(env.Stdout, out)
	if out.Decision != "allow" {
		return 1
	}
	return 0
}

func buildHeaders(hdrs []string, method, path, authority string, hasBody bool) (engine.Header, error) {
	if method == "" {
		method = "GET"
		if hasBody {
			method = "POST"
		}
	}
	h := engine.Header{":method": method, ":path": path, ":authority": authority, ":scheme": "http"}
	if hasBody {
		h["content-type"] = "application/json"
	}
	for _, kv := range hdrs {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("header %q: want 'name: value'", kv)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, nil
}

func printOutcome(w io.Writer, o engine.Outcome) {
	fmt.Fprintf(w, "decision: %s\n", o.Decision)
	if o.Rule != "" {
		fmt.Fprintf(w, "rule:     %s\n", o.Rule)
	}
	if o.Reason != "" {
		fmt.Fprintf(w, "reason:   %s\n", o.Reason)
	}
	if o.Err != nil {
		fmt.Fprintf(w, "error:    %v\n", o.Err)
	}
	if o.Reply != nil {
		fmt.Fprintf(w, "status:   %d\nbody:     %s\n", o.Status, o.Reply.Body)
		return
	}
	for _, hv := range o.Headers {
		v := hv.Value
		if slices.Contains(credentials.ClientHeaders, hv.Name) {
			v = "[redacted]" // an injected provider key: never printed
		}
		fmt.Fprintf(w, "set:      %s: %s\n", hv.Name, v)
	}
	for _, r := range o.Remove {
		fmt.Fprintf(w, "remove:   %s\n", r)
	}
}
