package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are agentguard's own series. Label values are bounded: agents,
// profiles, servers and tools come from the config; anything else is
// reported as "other" or "unknown".
type Metrics struct {
	Registry        *prometheus.Registry
	Requests        *prometheus.CounterVec   // profile, agent, decision
	MCPCalls        *prometheus.CounterVec   // server, tool, method, decision
	DecisionSeconds *prometheus.HistogramVec // profile
	Reloads         *prometheus.CounterVec   // result
	StreamErrors    *prometheus.CounterVec   // kind
	Failures        *prometheus.CounterVec   // profile, mode (closed|open)
	ToolsFiltered   *prometheus.CounterVec   // server
	PolicyErrors    *prometheus.CounterVec   // profile, rule
	Tokens          *prometheus.CounterVec   // provider, agent, model, workflow, kind
	CostUSD         *prometheus.CounterVec   // provider, agent, model, workflow
	UsageMissing    *prometheus.CounterVec   // provider
	RuleViolations  *prometheus.CounterVec   // profile, rule (response rules)
	Findings        *prometheus.CounterVec   // profile, direction, detector, rule, action
	DetectorErrors  *prometheus.CounterVec   // profile, detector, mode
	ConfigInfo      *prometheus.GaugeVec     // source, hash
	// Limits: decisions by result (allowed, limited, too_large,
	// unavailable), calls the shared backend did not serve, and what each
	// agent's latest request left of the limit it was charged to.
	LimitDecisions       *prometheus.CounterVec // profile, limit, result
	LimitBackendFailures *prometheus.CounterVec // mode (open|closed)
	LimitRemaining       *prometheus.GaugeVec   // profile, limit, agent
}

// NewMetrics registers agentguard's metrics on a new registry, with the Go
// runtime and process collectors beside them.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_requests_total",
			Help: "Requests, by profile, agent and decision (allow, deny, error; none when the stream ended before a decision).",
		}, []string{"profile", "agent", "decision"}),
		MCPCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_mcp_calls_total",
			Help: "MCP JSON-RPC messages decided, by server, tool, method and decision.",
		}, []string{"server", "tool", "method", "decision"}),
		DecisionSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentguard_decision_duration_seconds",
			Help:    "Time agentguard spent deciding a request (request phase only).",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 200e-3},
		}, []string{"profile"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_config_reloads_total",
			Help: "Config loads by result (applied, rejected).",
		}, []string{"result"}),
		StreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_stream_errors_total",
			Help: "ext_proc streams that ended abnormally, by kind.",
		}, []string{"kind"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_failures_total",
			Help: "Internal failures and the failure mode applied (closed rejects, open lets pass).",
		}, []string{"profile", "mode"}),
		ToolsFiltered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_mcp_tools_filtered_total",
			Help: "Tools removed from tools/list results because the agent may not call them.",
		}, []string{"server"}),
		PolicyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_policy_errors_total",
			Help: "CEL rules that failed to evaluate on a request (and so denied it), by profile and rule.",
		}, []string{"profile", "rule"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_llm_tokens_total",
			Help: "LLM tokens as the provider reported them, by provider, agent, model (priced name or other), workflow and kind (input, output, cached_input, reasoning).",
		}, []string{"provider", "agent", "model", "workflow", "kind"}),
		CostUSD: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_llm_cost_usd_total",
			Help: "LLM cost in USD from the price table, by provider, agent, model and workflow.",
		}, []string{"provider", "agent", "model", "workflow"}),
		UsageMissing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_llm_usage_missing_total",
			Help: "Successful LLM responses that reported no usage (never guessed), by provider.",
		}, []string{"provider"}),
		RuleViolations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_response_rule_violations_total",
			Help: "Answers that violated a response rule (recorded, not enforced: the answer had passed), by profile and rule.",
		}, []string{"profile", "rule"}),
		Findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_inspect_findings_total",
			Help: "Detector findings, by profile, direction (request, response), detector, rule and the action taken (deny, redact, log).",
		}, []string{"profile", "direction", "detector", "rule", "action"}),
		DetectorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_inspect_detector_errors_total",
			Help: "Detectors that could not decide (a classifier service timed out), by profile, detector and the failure mode applied.",
		}, []string{"profile", "detector", "mode"}),
		ConfigInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentguard_config_info",
			Help: "The config being served (value 1), by source and content hash.",
		}, []string{"source", "hash"}),
		LimitDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_limit_decisions_total",
			Help: "Limit decisions, by profile, limit and result (allowed, limited, too_large: the request alone exceeds the limit, unavailable: the shared backend failed closed).",
		}, []string{"profile", "limit", "result"}),
		LimitBackendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentguard_limit_backend_failures_total",
			Help: "Limit calls the shared backend (Redis) did not serve — an error, a timeout, or skipped in the back-off after one — by the failure mode applied (open: per-replica limits, closed: refused).",
		}, []string{"mode"}),
		LimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentguard_limit_remaining",
			Help: "Units left in the bucket an agent's latest request was charged to (requests, tokens or USD), by profile, limit and agent (configured agents; anonymous; other).",
		}, []string{"profile", "limit", "agent"}),
	}
	reg.MustRegister(m.Requests, m.MCPCalls, m.DecisionSeconds, m.Reloads, m.StreamErrors,
		m.Failures, m.ToolsFiltered, m.PolicyErrors, m.Tokens, m.CostUSD, m.UsageMissing, m.RuleViolations, m.ConfigInfo,
		m.Findings, m.DetectorErrors, m.LimitDecisions, m.LimitBackendFailures, m.LimitRemaining,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
