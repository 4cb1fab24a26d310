// Package mcpservers provides the real MCP peers that agentguard's
// end-to-end tests put on either side of the Envoy chain:
//
//   - [GitHub] and [Semgrep]: go-sdk MCP servers posing as GitHub's and
//     Semgrep's MCP servers, with the tool names and input schemas those
//     servers publish, deterministic fake results, and a [CallLog] that
//     records every JSON-RPC message that reached them (so a test can prove
//     a denied call never did).
//   - [Serve]: serves an *mcp.Server over Streamable HTTP on loopback,
//     stateful (Mcp-Session-Id, GET stream, DELETE) or stateless, answering
//     in SSE or in JSON.
//   - [Connect] and [ConnectWith]: the official go-sdk client over Streamable
//     HTTP, with extra headers (x-agent-id, x-mcp-server) on every request.
//   - [StartEverything] and [Inspector]: run @modelcontextprotocol/server-everything
//     and @modelcontextprotocol/inspector-cli from npm (pinned in e2e/node,
//     installed by e2e/scripts/node-deps.sh).
//
// Everything listens on 127.0.0.1 only and stops when its context ends or
// its test is cleaned up. None of it is agentguard: these are test peers.
package mcpservers
