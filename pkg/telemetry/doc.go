// Package telemetry holds what agentguard tells operators: Prometheus metrics
// on a registry of its own, and the audit log, one JSON line per request.
// Neither ever carries a credential, a matched secret or a raw prompt; label
// values come only from configuration (agent, tool and server names), never
// unbounded from requests.
package telemetry
