// Package app wires agentguard together: the CLI (serve, validate, eval,
// test), the config watcher, the gRPC server and the HTTP endpoints. Nothing
// else imports it.
package app
