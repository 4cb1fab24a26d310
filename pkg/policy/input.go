package policy

// Agent is the caller as identified for this request.
type Agent struct {
	Name          string // configured agent name; "" when anonymous or unknown
	Groups        []string
	SPIFFE        string
	Source        string // xfcc, peer, header; "" when anonymous
	Authenticated bool
}

// Request is the HTTP request as policies see it.
type Request struct {
	Method, Path, Host, ID string
	// Headers is called at most once, and only when a rule reads headers.
	Headers func() map[string]string
}

// MCP is one JSON-RPC message of an MCP request (one per batch element).
type MCP struct {
	Method          string
	ID              string // the raw JSON id ("7", "\"abc\""); "" for notifications
	Server          string
	Tool            string
	Arguments       []byte // raw JSON object; decoded only when a rule reads it
	ResourceURI     string
	Prompt          string
	SessionID       string
	ProtocolVersion string
	Batch           bool
}

// Input is everything one decision may depend on.
type Input struct {
	Profile  string
	Protocol string
	Agent    Agent
	Request  Request
	MCP      *MCP // nil outside MCP profiles
	LLM      *LLM // nil outside LLM profiles
	Webhook  *Webhook
	// Findings are what inspection found in the message, whatever its
	// action (a redacted span is still a finding, with Redacted set).
	Findings []Finding
}

// Finding is a detector's finding as policies see it: never the value.
type Finding struct {
	Detector string // secrets, pii, injection, classifier
	Rule     string // the detector's rule: aws-access-token, credit_card, model
	Severity string // low, medium, high, critical
	Field    string // the path of the text in the message
	Score    float64
	Action   string // deny, redact, log: what the profile does with it
}

// Webhook is a webhook delivery as policies see it.
type Webhook struct {
	Verified bool   // the body's signature checked out
	Event    string // x-github-event
	Delivery string // x-github-delivery
}

// LLM is an OpenAI or Anthropic request as policies see it.
type LLM struct {
	Provider  string // openai, anthropic
	Endpoint  string // chat_completions, completions, responses, embeddings, messages, count_tokens; "" when not parsed
	Model     string
	Stream    bool
	MaxTokens int64
	Messages  []map[string]any // {role, text}
	Tools     []string         // declared tool names
	ToolCalls []map[string]any // {id, name, arguments} in the conversation so far
	Usage     Usage            // zero until the response reports it
}

// Usage is what the provider reported, for response rules.
type Usage struct {
	Input, Output, CachedInput, Reasoning int64
	CostUSD                               float64
}

// Decision is the outcome of a Set over one Input. A denial is a Decision,
// never an error.
type Decision struct {
	Allow   bool
	Rule    string // the rule that decided; "" when allowed by default
	Message string // operator-written, safe to show the client
	// EvalErr is why Rule failed to evaluate, when it did: the request is
	// denied by that rule, and the error is for operators (logs, metrics),
	// never for the client.
	EvalErr error
}

// Built-in rule ids, reported like configured ones.
const (
	RuleServerNotAllowed = "builtin:server-not-allowed"
	RuleToolNotAllowed   = "builtin:tool-not-allowed"
	RuleNoAllowMatched   = "builtin:no-allow-rule-matched"
)
