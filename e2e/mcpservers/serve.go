package mcpservers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ServeOptions configures [Serve]. The zero value serves stateful sessions
// answering in SSE, the go-sdk default.
type ServeOptions struct {
	// Stateless serves without sessions: no Mcp-Session-Id, every POST gets
	// a temporary session, and GET and DELETE are answered 405.
	// Otherwise sessions are stateful: initialize returns an Mcp-Session-Id,
	// GET opens the standalone SSE stream, DELETE ends the session.
	Stateless bool
	// JSONResponse answers POSTs with application/json instead of a
	// text/event-stream (go-sdk StreamableHTTPOptions.JSONResponse).
	JSONResponse bool
	// SessionTimeout closes stateful sessions idle this long; zero never does.
	SessionTimeout time.Duration
	// DisableLocalhostProtection lets requests through whose Host header is
	// not a loopback name. The go-sdk otherwise answers 403 to a request on
	// a loopback listener with another Host (DNS rebinding protection), which
	// a proxy that rewrites Host (to a cluster name, say) would trip.
	DisableLocalhostProtection bool
	// Logger receives the go-sdk handler's logs; nil discards them.
	Logger *slog.Logger
}

// Serve serves s over Streamable HTTP (go-sdk mcp.NewStreamableHTTPHandler)
// on addr, which must be a loopback address ("127.0.0.1:0" when empty; port
// 0 picks a free port). Every path is the MCP endpoint; clients use
// "http://<addr>/mcp". It returns the bound address once the listener is up
// and stops serving, closing every connection, when ctx ends.
func Serve(ctx context.Context, s *mcp.Server, addr string, opts ServeOptions) (net.Addr, error) {
	if s == nil {
		return nil, errors.New("mcpservers: Serve: nil server")
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mcpservers: listen %s: %w", addr, err)
	}
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Stateless:                  opts.Stateless,
		JSONResponse:               opts.JSONResponse,
		SessionTimeout:             opts.SessionTimeout,
		DisableLocalhostProtection: opts.DisableLocalhostProtection,
		Logger:                     opts.Logger,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		// Close, not Shutdown: standalone SSE streams never end by themselves.
		_ = srv.Close()
	}()
	return ln.Addr(), nil
}

// URL is the MCP endpoint of a server that [Serve] bound to addr.
func URL(addr net.Addr) string { return "http://" + addr.String() + "/mcp" }

// checkLoopback refuses any listen address but a loopback one.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("mcpservers: bad listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("mcpservers: listen address %q is not loopback; test peers listen on 127.0.0.1 only", addr)
}
