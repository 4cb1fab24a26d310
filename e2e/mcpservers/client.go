package mcpservers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ConnectOptions configures [ConnectWith].
type ConnectOptions struct {
	// Headers are set on every HTTP request the client sends (POST, the
	// standalone GET stream, DELETE), e.g. x-agent-id and x-mcp-server.
	Headers map[string]string
	// ProtocolVersion is the version the client asks for. Empty is the
	// go-sdk default: it first probes with server/discover (protocol
	// 2026-07-28, SEP-2575) and falls back to initialize with 2025-11-25
	// when the server does not support it. "2025-11-25" (or older) skips the
	// probe and starts with initialize.
	ProtocolVersion string
	// DisableStandaloneSSE stops the client from opening the GET stream
	// after initialize.
	DisableStandaloneSSE bool
	// MaxRetries bounds the client's reconnection attempts (go-sdk default
	// 5 when zero; negative disables retries).
	MaxRetries int
	// OnResponse, if set, sees every HTTP response the client receives
	// (resp.Request is its request), before the client reads the body. It
	// is called from the client's goroutines and must not read the body.
	OnResponse func(*http.Response)
	// Base is the RoundTripper the headers are added in front of;
	// http.DefaultTransport when nil.
	Base http.RoundTripper
}

// Connect connects the official go-sdk MCP client to the Streamable HTTP
// endpoint url, with headers added to every request. The caller closes the
// session (which sends DELETE for a stateful session).
func Connect(ctx context.Context, url string, headers map[string]string) (*mcp.ClientSession, error) {
	return ConnectWith(ctx, url, ConnectOptions{Headers: headers})
}

// ConnectWith is [Connect] with every option.
func ConnectWith(ctx context.Context, url string, opts ConnectOptions) (*mcp.ClientSession, error) {
	base := opts.Base
	if base == nil {
		base = http.DefaultTransport
	}
	transport := &mcp.StreamableClientTransport{
		Endpoint: url,
		HTTPClient: &http.Client{Transport: &headerTransport{
			base:       base,
			headers:    opts.Headers,
			onResponse: opts.OnResponse,
		}},
		MaxRetries:           opts.MaxRetries,
		DisableStandaloneSSE: opts.DisableStandaloneSSE,
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "agentguard-e2e", Version: "0.0.0"}, nil)
	var sessOpts *mcp.ClientSessionOptions
	if opts.ProtocolVersion != "" {
		sessOpts = &mcp.ClientSessionOptions{ProtocolVersion: opts.ProtocolVersion}
	}
	cs, err := client.Connect(ctx, transport, sessOpts)
	if err != nil {
		return nil, fmt.Errorf("mcpservers: connect %s: %w", url, err)
	}
	return cs, nil
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	base       http.RoundTripper
	headers    map[string]string
	onResponse func(*http.Response)
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		req = req.Clone(req.Context()) // a RoundTripper must not modify its request
		for k, v := range t.headers {
			req.Header.Set(k, v)
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && t.onResponse != nil {
		t.onResponse(resp)
	}
	return resp, err
}
