package config

import (
	"time"

	"github.com/agentguard/agentguard/pkg/credentials"
	"github.com/agentguard/agentguard/pkg/pricing"
)

// File is one agentguard configuration file. Field names are the YAML keys;
// every field is documented in docs/config.md.
type File struct {
	// FailureMode says what happens to a request when agentguard itself fails
	// (not when a policy denies): "closed" (default) rejects it, "open" lets it pass.
	FailureMode string `yaml:"failure_mode" json:"failure_mode"`
	// DecisionTimeout bounds the work on one Envoy message. Envoy's own
	// message_timeout (200ms by default) must be larger.
	DecisionTimeout Duration `yaml:"decision_timeout" json:"decision_timeout"`
	// DefaultProfile serves requests no profile matches; empty means deny them.
	DefaultProfile string `yaml:"default_profile" json:"default_profile"`
	// CELCostLimit bounds the runtime cost of one policy evaluation.
	CELCostLimit uint64 `yaml:"cel_cost_limit" json:"cel_cost_limit"`

	Audit     Audit     `yaml:"audit" json:"audit"`
	Detectors Detectors `yaml:"detectors" json:"detectors"`
	Pricing   Pricing   `yaml:"pricing" json:"pricing"`
	// Limits says where rate limits and budgets are counted (limits.go).
	Limits   LimitsBackend `yaml:"limits" json:"limits"`
	Agents   []Agent       `yaml:"agents" json:"agents"`
	Profiles []Profile     `yaml:"profiles" json:"profiles"`
}

// Pricing overrides or extends the shipped price table (USD per million
// tokens). AsOf dates the overrides.
type Pricing struct {
	AsOf   string                   `yaml:"as_of" json:"as_of"`
	Models map[string]pricing.Price `yaml:"models" json:"models"`
}

// Audit configures the audit log: one JSON line per request.
type Audit struct {
	// Output is "stdout" (default), "stderr", "off", or a file path.
	Output string `yaml:"output" json:"output"`
}

// Agent is a named workload and the identities that prove it.
type Agent struct {
	Name   string   `yaml:"name" json:"name"`
	SPIFFE []string `yaml:"spiffe" json:"spiffe"`
	Groups []string `yaml:"groups" json:"groups"`
}

// Profile is one traffic class: which requests it governs and how.
type Profile struct {
	Name     string `yaml:"name" json:"name"`
	Protocol string `yaml:"protocol" json:"protocol"`
	// Match selects the profile when Envoy did not name it in x-agentguard-profile.
	Match        Match    `yaml:"match" json:"match"`
	Identity     Identity `yaml:"identity" json:"identity"`
	MaxBodyBytes int64    `yaml:"max_body_bytes" json:"max_body_bytes"`
	// FailureMode overrides the top-level failure_mode for this profile.
	FailureMode string     `yaml:"failure_mode" json:"failure_mode"`
	MCP         *MCP       `yaml:"mcp" json:"mcp,omitempty"`
	LLM         *LLM       `yaml:"llm" json:"llm,omitempty"`
	Webhook     *Webhook   `yaml:"webhook" json:"webhook,omitempty"`
	Policies    []Policy   `yaml:"policies" json:"policies"`
	Audit       AuditRules `yaml:"audit" json:"audit"`
	ExtAuthz    ExtAuthz   `yaml:"ext_authz" json:"ext_authz"`
	Inspect     Inspect    `yaml:"inspect" json:"inspect"`
	// Limits are the profile's rate limits and budgets (limits.go).
	Limits []Limit `yaml:"limits" json:"limits,omitempty"`
}

// ExtAuthz says how the profile is decided when Envoy asks through
// ext_authz (Authorization/Check, the way a waypoint attaches) rather than
// ext_proc.
type ExtAuthz struct {
	// PartialBody is what a Check whose body Envoy cut at max_request_bytes
	// (x-envoy-auth-partial-body: true) gets: "deny" (default; 413 in the
	// client's protocol), or "headers" (decide on the headers alone — only
	// for protocol http, whose decision never reads the body).
	PartialBody string `yaml:"partial_body" json:"partial_body"`
}

// Match is a conjunction: every non-empty list must contain the request's value.
type Match struct {
	Ports        []int    `yaml:"ports" json:"ports"`
	Authorities  []string `yaml:"authorities" json:"authorities"`
	PathPrefixes []string `yaml:"path_prefixes" json:"path_prefixes"`
}

// Identity lists, in order, where a profile looks for the agent's identity.
type Identity struct {
	// Sources: "xfcc", "peer", "header". Default: xfcc, peer.
	Sources []string `yaml:"sources" json:"sources"`
	// TrustHeader names the header the "header" source reads (default x-agent-id).
	// Only safe where L4 identity (ztunnel, mTLS) already vouches for the caller.
	TrustHeader    string   `yaml:"trust_header" json:"trust_header"`
	TrustDomains   []string `yaml:"trust_domains" json:"trust_domains"`
	AllowAnonymous bool     `yaml:"allow_anonymous" json:"allow_anonymous"`
}

// MCP configures a profile of protocol "mcp".
type MCP struct {
	// ServerHeader is the client header naming the MCP server (default x-mcp-server).
	ServerHeader string `yaml:"server_header" json:"server_header"`
	// RouteHeader is the header agentguard sets to the server's cluster, which
	// Envoy's route matches with cluster_header (default x-agentguard-cluster).
	RouteHeader string      `yaml:"route_header" json:"route_header"`
	MaxBatch    int         `yaml:"max_batch" json:"max_batch"`
	MaxDepth    int         `yaml:"max_depth" json:"max_depth"`
	Servers     []MCPServer `yaml:"servers" json:"servers"`
	Tools       []ToolRule  `yaml:"tools" json:"tools"`
	// MaxEventBytes bounds one server-sent event held while filtering a stream.
	MaxEventBytes int `yaml:"max_event_bytes" json:"max_event_bytes"`
	// DenialStatus is the HTTP status of a policy or identity denial, whose
	// body is always the JSON-RPC error (default 403). 200 suits clients
	// that read JSON-RPC errors only from 2xx answers (the TypeScript SDK).
	DenialStatus int `yaml:"denial_status" json:"denial_status"`
}

// LLM configures a profile of protocol "openai" or "anthropic".
type LLM struct {
	// Credential is the provider key agentguard injects; agents never hold
	// one. AgentCredentials override it per agent.
	Credential       Credential            `yaml:"credential" json:"credential"`
	AgentCredentials map[string]Credential `yaml:"agent_credentials" json:"agent_credentials,omitempty"`
	// Models, when present, lists the models agents may use (globs); a
	// model no rule grants the agent is denied.
	Models []ModelRule `yaml:"models" json:"models"`
	// Routes pick the upstream cluster by model: the first match sets
	// RouteHeader, which Envoy's route matches with cluster_header.
	Routes      []ModelRoute `yaml:"routes" json:"routes"`
	RouteHeader string       `yaml:"route_header" json:"route_header"`
	// WorkflowHeader names the header whose value labels cost and token
	// counters (default x-workflow-id).
	WorkflowHeader string `yaml:"workflow_header" json:"workflow_header"`
	// AllowUnknownEndpoints lets requests to endpoints agentguard does not
	// parse through (policies see llm.endpoint ""); by default they are
	// denied, since nothing in them would be inspected or counted.
	AllowUnknownEndpoints bool `yaml:"allow_unknown_endpoints" json:"allow_unknown_endpoints"`
	// AnthropicVersion is set as anthropic-version when the client sent
	// none (default 2023-06-01).
	AnthropicVersion string `yaml:"anthropic_version" json:"anthropic_version,omitempty"`
	MaxEventBytes    int    `yaml:"max_event_bytes" json:"max_event_bytes"`
}

// Webhook configures a profile of protocol "webhook": deliveries to Paths
// must carry a valid HMAC-SHA256 signature of their body (GitHub's
// X-Hub-Signature-256: "sha256=" + hex). Other paths are governed like
// protocol http.
type Webhook struct {
	Paths           []string   `yaml:"paths" json:"paths"`
	Secret          Credential `yaml:"secret" json:"secret"`
	SignatureHeader string     `yaml:"signature_header" json:"signature_header"`
	EventHeader     string     `yaml:"event_header" json:"event_header"`
	DeliveryHeader  string     `yaml:"delivery_header" json:"delivery_header"`
}

// Credential names where a key is read: a file (a mounted Kubernetes
// Secret, re-read when it changes), else an environment variable.
type Credential struct {
	File string `yaml:"file" json:"file,omitempty"`
	Env  string `yaml:"env" json:"env,omitempty"`
}

// Source reads the credential: the file, else the environment variable.
func (c Credential) Source() credentials.Source {
	var fs credentials.FirstOf
	if c.File != "" {
		fs = append(fs, credentials.File(c.File))
	}
	if c.Env != "" {
		fs = append(fs, credentials.Env(c.Env))
	}
	return fs
}

// ModelRule grants models to agents. No agents and no groups: every agent.
type ModelRule struct {
	ID     string   `yaml:"id" json:"id"`
	Agents []string `yaml:"agents" json:"agents"`
	Groups []string `yaml:"groups" json:"groups"`
	Allow  []string `yaml:"allow" json:"allow"`
}

// ModelRoute sends the models it matches to a cluster.
type ModelRoute struct {
	Models  []string `yaml:"models" json:"models"`
	Cluster string   `yaml:"cluster" json:"cluster"`
}

// MCPServer is an upstream MCP server the profile routes to.
type MCPServer struct {
	Name    string `yaml:"name" json:"name"`
	Cluster string `yaml:"cluster" json:"cluster"`
}

// ToolRule grants (allow) or forbids (deny) tools on servers to agents.
// No agents and no groups means every agent.
type ToolRule struct {
	ID     string   `yaml:"id" json:"id"`
	Agents []string `yaml:"agents" json:"agents"`
	Groups []string `yaml:"groups" json:"groups"`
	// Server is a server name or a glob ("*").
	Server string   `yaml:"server" json:"server"`
	Allow  []string `yaml:"allow" json:"allow"`
	Deny   []string `yaml:"deny" json:"deny"`
}

// Policy is one CEL rule.
type Policy struct {
	ID string `yaml:"id" json:"id"`
	// Effect: "deny" (deny when true), "require" (deny when false),
	// "allow" (where any allow rule exists, one must be true).
	Effect  string `yaml:"effect" json:"effect"`
	When    string `yaml:"when" json:"when"`
	Message string `yaml:"message" json:"message"`
	// Phase is "request" (default: decides the request) or "response"
	// (LLM profiles: evaluated once the usage is known, with llm.usage set;
	// the answer has reached the agent by then, so a deny or require that
	// fails is recorded and counted as a violation, not enforced).
	Phase string `yaml:"phase" json:"phase,omitempty"`
}

// AuditRules says what the audit record of a profile may carry.
type AuditRules struct {
	// LogArguments lists "server/tool" globs whose argument values may be
	// recorded; for other tools only argument names are.
	LogArguments []string `yaml:"log_arguments" json:"log_arguments"`
}

// Duration is a time.Duration written as "150ms" in YAML.
type Duration time.Duration
