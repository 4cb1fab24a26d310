package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/agentguard/agentguard/pkg/identity"
)

// Protocols that this build implements. Profiles naming another protocol are
// rejected at load rather than failing at request time.
var implemented = map[string]bool{"mcp": true, "http": true, "openai": true, "anthropic": true, "webhook": true}

// planned protocols are named in the error so a user knows they are coming,
// not misspelt.
var planned = map[string]bool{}

const available = "anthropic, http, mcp, openai, webhook"

const (
	defaultDecisionTimeout = 150 * time.Millisecond
	defaultMaxBody         = 1 << 20
	defaultCELCost         = 100_000
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	headerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)
	envRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fieldRE  = regexp.MustCompile(`^[a-z_]+\[[0-9]+\]$`)
)

func (f *File) applyDefaults() {
	if f.FailureMode == "" {
		f.FailureMode = "closed"
	}
	if f.DecisionTimeout == 0 {
		f.DecisionTimeout = Duration(defaultDecisionTimeout)
	}
	if f.CELCostLimit == 0 {
		f.CELCostLimit = defaultCELCost
	}
	if f.Audit.Output == "" {
		f.Audit.Output = "stdout"
	}
	f.Detectors.defaults()
	f.Limits.defaults()
	for i := range f.Profiles {
		p := &f.Profiles[i]
		for j := range p.Limits {
			p.Limits[j].defaults()
		}
		if p.MaxBodyBytes == 0 {
			p.MaxBodyBytes = defaultMaxBody
		}
		if p.FailureMode == "" {
			p.FailureMode = f.FailureMode
		}
		if p.ExtAuthz.PartialBody == "" {
			p.ExtAuthz.PartialBody = "deny"
		}
		if len(p.Identity.Sources) == 0 {
			p.Identity.Sources = []string{"xfcc", "peer"}
		}
		if p.Identity.TrustHeader == "" {
			p.Identity.TrustHeader = "x-agent-id"
		}
		if w := p.Webhook; w != nil {
			if w.SignatureHeader == "" {
				w.SignatureHeader = "x-hub-signature-256"
			}
			if w.EventHeader == "" {
				w.EventHeader = "x-github-event"
			}
			if w.DeliveryHeader == "" {
				w.DeliveryHeader = "x-github-delivery"
			}
		}
		if l := p.LLM; l != nil {
			if l.RouteHeader == "" {
				l.RouteHeader = "x-agentguard-cluster"
			}
			if l.WorkflowHeader == "" {
				l.WorkflowHeader = "x-workflow-id"
			}
			if l.AnthropicVersion == "" && p.Protocol == "anthropic" {
				l.AnthropicVersion = "2023-06-01"
			}
			if l.MaxEventBytes == 0 {
				l.MaxEventBytes = 1 << 20
			}
		}
		if m := p.MCP; m != nil {
			if m.ServerHeader == "" {
				m.ServerHeader = "x-mcp-server"
			}
			if m.RouteHeader == "" {
				m.RouteHeader = "x-agentguard-cluster"
			}
			if m.MaxBatch == 0 {
				m.MaxBatch = 100
			}
			if m.MaxDepth == 0 {
				m.MaxDepth = 64
			}
			if m.MaxEventBytes == 0 {
				m.MaxEventBytes = 1 << 20
			}
			if m.DenialStatus == 0 {
				m.DenialStatus = 403
			}
		}
	}
}

// Validate checks the whole file and returns every problem, each with its
// path. CEL expressions are compiled later, by the policy package, whose
// errors are reported in the same form.
func (f *File) Validate() Errors {
	var es Errors
	if f.FailureMode != "closed" && f.FailureMode != "open" {
		es.add("failure_mode", "must be closed or open, not %q", f.FailureMode)
	}
	if d := time.Duration(f.DecisionTimeout); d <= 0 || d > 10*time.Second {
		es.add("decision_timeout", "must be in (0, 10s], not %s", d)
	}
	switch o := f.Audit.Output; {
	case o == "stdout", o == "stderr", o == "off", strings.HasPrefix(o, "/"):
	default:
		es.add("audit.output", "must be stdout, stderr, off or an absolute path, not %q", o)
	}
	for name, p := range f.Pricing.Models {
		if p.Input < 0 || p.Output < 0 || p.CachedInput < 0 || p.CacheWrite < 0 {
			es.add("pricing.models."+name, "prices must not be negative")
		}
	}
	if f.Pricing.AsOf != "" && len(f.Pricing.Models) == 0 {
		es.add("pricing.as_of", "dates price overrides, but pricing.models is empty")
	}
	f.Detectors.validate(f, &es)
	f.Limits.validate(f, &es)
	groups := f.validateAgents(&es)
	names := map[string]bool{}
	for i := range f.Profiles {
		p := &f.Profiles[i]
		path := fmt.Sprintf("profiles[%d]", i)
		if names[p.Name] {
			es.add(path+".name", "duplicate profile %q", p.Name)
		}
		names[p.Name] = true
		p.validate(path, f, groups, &es)
	}
	if len(f.Profiles) == 0 {
		es.add("profiles", "at least one profile is required")
	}
	if f.DefaultProfile != "" && !names[f.DefaultProfile] {
		es.add("default_profile", "no profile named %q", f.DefaultProfile)
	}
	return es
}

func (f *File) validateAgents(es *Errors) map[string]bool {
	groups := map[string]bool{}
	seen := map[string]bool{}
	owner := map[string]string{}
	for i, a := range f.Agents {
		path := fmt.Sprintf("agents[%d]", i)
		if !nameRE.MatchString(a.Name) {
			es.add(path+".name", "invalid agent name %q", a.Name)
		}
		if seen[a.Name] {
			es.add(path+".name", "duplicate agent %q", a.Name)
		}
		seen[a.Name] = true
		for j, s := range a.SPIFFE {
			id, err := identity.ParseSPIFFEID(s)
			if err != nil {
				es.add(fmt.Sprintf("%s.spiffe[%d]", path, j), "%v", err)
				continue
			}
			if o, ok := owner[id.String()]; ok {
				es.add(fmt.Sprintf("%s.spiffe[%d]", path, j), "%s already belongs to agent %q", s, o)
			}
			owner[id.String()] = a.Name
		}
		for j, g := range a.Groups {
			if !nameRE.MatchString(g) {
				es.add(fmt.Sprintf("%s.groups[%d]", path, j), "invalid group name %q", g)
			}
			groups[g] = true
		}
	}
	return groups
}

func (p *Profile) validate(path string, f *File, groups map[string]bool, es *Errors) {
	if !nameRE.MatchString(p.Name) {
		es.add(path+".name", "invalid profile name %q", p.Name)
	}
	switch {
	case implemented[p.Protocol]:
	case planned[p.Protocol]:
		es.add(path+".protocol", "protocol %q is not implemented in this build (available: %s)", p.Protocol, available)
	default:
		es.add(path+".protocol", "unknown protocol %q (available: %s)", p.Protocol, available)
	}
	if p.FailureMode != f.FailureMode && p.FailureMode != "closed" && p.FailureMode != "open" {
		es.add(path+".failure_mode", "must be closed or open, not %q", p.FailureMode)
	}
	if p.MaxBodyBytes < 0 || p.MaxBodyBytes > 64<<20 {
		es.add(path+".max_body_bytes", "must be in [1, 64MiB], not %d", p.MaxBodyBytes)
	}
	for j, port := range p.Match.Ports {
		if port < 1 || port > 65535 {
			es.add(fmt.Sprintf("%s.match.ports[%d]", path, j), "invalid port %d", port)
		}
	}
	for j, pre := range p.Match.PathPrefixes {
		if !strings.HasPrefix(pre, "/") {
			es.add(fmt.Sprintf("%s.match.path_prefixes[%d]", path, j), "must start with /")
		}
	}
	p.Identity.validate(path+".identity", es)
	p.Inspect.validate(path, p, &f.Detectors, es)
	p.validateLimits(path, es)
	switch pb := p.ExtAuthz.PartialBody; {
	case pb == "deny":
	case pb == "headers" && p.Protocol == "http":
	case pb == "headers":
		es.add(path+".ext_authz.partial_body", "headers is only allowed with protocol http: protocol %s decides on the whole body", p.Protocol)
	default:
		es.add(path+".ext_authz.partial_body", "must be deny or headers, not %q", pb)
	}
	if p.Protocol == "mcp" {
		if p.MCP == nil {
			es.add(path+".mcp", "required for protocol mcp")
		} else {
			p.MCP.validate(path+".mcp", f, groups, es)
		}
	} else if p.MCP != nil {
		es.add(path+".mcp", "only allowed with protocol mcp")
	}
	switch {
	case p.Protocol == "webhook" && p.Webhook == nil:
		es.add(path+".webhook", "required for protocol webhook (paths and the signing secret)")
	case p.Protocol == "webhook":
		w := p.Webhook
		if len(w.Paths) == 0 {
			es.add(path+".webhook.paths", "at least one path prefix is required")
		}
		for j, pre := range w.Paths {
			if !strings.HasPrefix(pre, "/") {
				es.add(fmt.Sprintf("%s.webhook.paths[%d]", path, j), "must start with /")
			}
		}
		w.Secret.validate(path+".webhook.secret", es)
		for _, hn := range []struct{ k, v string }{{"signature_header", w.SignatureHeader}, {"event_header", w.EventHeader}, {"delivery_header", w.DeliveryHeader}} {
			if !headerRE.MatchString(hn.v) {
				es.add(path+".webhook."+hn.k, "must be a lowercase header name, not %q", hn.v)
			}
		}
	case p.Webhook != nil:
		es.add(path+".webhook", "only allowed with protocol webhook")
	}
	llm := p.Protocol == "openai" || p.Protocol == "anthropic"
	switch {
	case llm && p.LLM == nil:
		es.add(path+".llm", "required for protocol %s (at least the credential)", p.Protocol)
	case llm:
		p.LLM.validate(path+".llm", f, groups, es)
	case p.LLM != nil:
		es.add(path+".llm", "only allowed with protocols openai and anthropic")
	}
	ids := map[string]bool{}
	for j, pol := range p.Policies {
		pp := fmt.Sprintf("%s.policies[%d]", path, j)
		if !nameRE.MatchString(pol.ID) {
			es.add(pp+".id", "invalid rule id %q", pol.ID)
		}
		if ids[pol.ID] {
			es.add(pp+".id", "duplicate rule id %q", pol.ID)
		}
		ids[pol.ID] = true
		if pol.Effect != "allow" && pol.Effect != "deny" && pol.Effect != "require" {
			es.add(pp+".effect", "must be allow, deny or require, not %q", pol.Effect)
		}
		if strings.TrimSpace(pol.When) == "" {
			es.add(pp+".when", "a CEL expression is required")
		}
		switch pol.Phase {
		case "", "request":
		case "response":
			if p.Protocol != "openai" && p.Protocol != "anthropic" {
				es.add(pp+".phase", "response rules exist only on LLM profiles (openai, anthropic)")
			}
			if pol.Effect == "allow" {
				es.add(pp+".phase", "a response rule cannot allow: the answer has already passed")
			}
		default:
			es.add(pp+".phase", "must be request or response, not %q", pol.Phase)
		}
	}
	for j, g := range p.Audit.LogArguments {
		if !strings.Contains(g, "/") {
			es.add(fmt.Sprintf("%s.audit.log_arguments[%d]", path, j), "must be server/tool, not %q", g)
		}
	}
}

func (id *Identity) validate(path string, es *Errors) {
	_, err := identity.NewResolver(identity.Options{
		Sources:      sourcesOf(id.Sources),
		TrustHeader:  id.TrustHeader,
		TrustDomains: id.TrustDomains,
	})
	if err != nil {
		addJoined(es, path, err)
	}
	if !headerRE.MatchString(id.TrustHeader) {
		es.add(path+".trust_header", "must be a lowercase header name, not %q", id.TrustHeader)
	}
}

// addJoined records each error errors.Join combined in err as its own Error,
// so every problem renders on its own "file:line: path: msg" line. A leading
// "field[i]: " in a message is moved into the path, which Locate then finds.
func addJoined(es *Errors, path string, err error) {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		es.add(path, "%v", err)
		return
	}
	for _, e := range joined.Unwrap() {
		msg := e.Error()
		if field, rest, ok := strings.Cut(msg, ": "); ok && fieldRE.MatchString(field) {
			es.add(path+"."+field, "%s", rest)
			continue
		}
		es.add(path, "%s", msg)
	}
}

func sourcesOf(ss []string) []identity.Source {
	out := make([]identity.Source, len(ss))
	for i, s := range ss {
		out[i] = identity.Source(s)
	}
	return out
}

// ResolverOptions returns the identity options a profile configures.
func (id *Identity) ResolverOptions() identity.Options {
	return identity.Options{Sources: sourcesOf(id.Sources), TrustHeader: id.TrustHeader, TrustDomains: id.TrustDomains}
}

func (m *MCP) validate(path string, f *File, groups map[string]bool, es *Errors) {
	if !headerRE.MatchString(m.ServerHeader) {
		es.add(path+".server_header", "must be a lowercase header name, not %q", m.ServerHeader)
	}
	if !headerRE.MatchString(m.RouteHeader) || !strings.HasPrefix(m.RouteHeader, "x-agentguard-") {
		// Only agentguard's namespace is stripped from clients.
		es.add(path+".route_header", "must be a lowercase header name starting with x-agentguard-, not %q", m.RouteHeader)
	}
	if m.MaxBatch < 1 || m.MaxBatch > 10_000 {
		es.add(path+".max_batch", "must be in [1, 10000]")
	}
	if m.MaxDepth < 2 || m.MaxDepth > 512 {
		es.add(path+".max_depth", "must be in [2, 512]")
	}
	if m.MaxEventBytes < 1024 {
		es.add(path+".max_event_bytes", "must be at least 1024")
	}
	if m.DenialStatus != 200 && (m.DenialStatus < 400 || m.DenialStatus > 499) {
		es.add(path+".denial_status", "must be 200 or a 4xx status, not %d", m.DenialStatus)
	}
	servers := map[string]bool{}
	for j, s := range m.Servers {
		sp := fmt.Sprintf("%s.servers[%d]", path, j)
		if !nameRE.MatchString(s.Name) {
			es.add(sp+".name", "invalid server name %q", s.Name)
		}
		if servers[s.Name] {
			es.add(sp+".name", "duplicate server %q", s.Name)
		}
		servers[s.Name] = true
		if s.Cluster == "" {
			es.add(sp+".cluster", "required: the Envoy cluster this server is routed to")
		}
	}
	if len(m.Servers) == 0 {
		es.add(path+".servers", "at least one server is required")
	}
	agents := map[string]bool{}
	for _, a := range f.Agents {
		agents[a.Name] = true
	}
	ids := map[string]bool{}
	for j, t := range m.Tools {
		tp := fmt.Sprintf("%s.tools[%d]", path, j)
		if !nameRE.MatchString(t.ID) {
			es.add(tp+".id", "invalid rule id %q", t.ID)
		}
		if ids[t.ID] {
			es.add(tp+".id", "duplicate rule id %q", t.ID)
		}
		ids[t.ID] = true
		if t.Server == "" {
			es.add(tp+".server", "required (a server name or a glob such as *)")
		} else if !strings.ContainsAny(t.Server, "*?") && !servers[t.Server] {
			es.add(tp+".server", "no server named %q", t.Server)
		}
		if (len(t.Allow) == 0) == (len(t.Deny) == 0) {
			es.add(tp, "exactly one of allow or deny is required")
		}
		for k, a := range t.Agents {
			if !agents[a] {
				es.add(fmt.Sprintf("%s.agents[%d]", tp, k), "no agent named %q", a)
			}
		}
		for k, g := range t.Groups {
			if !groups[g] {
				es.add(fmt.Sprintf("%s.groups[%d]", tp, k), "no agent is in group %q", g)
			}
		}
		for k, pat := range t.Allow {
			if pat == "" {
				es.add(fmt.Sprintf("%s.allow[%d]", tp, k), "empty tool pattern")
			}
		}
		for k, pat := range t.Deny {
			if pat == "" {
				es.add(fmt.Sprintf("%s.deny[%d]", tp, k), "empty tool pattern")
			}
		}
	}
}

func (l *LLM) validate(path string, f *File, groups map[string]bool, es *Errors) {
	l.Credential.validate(path+".credential", es)
	agents := map[string]bool{}
	for _, a := range f.Agents {
		agents[a.Name] = true
	}
	names := make([]string, 0, len(l.AgentCredentials))
	for name := range l.AgentCredentials {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := l.AgentCredentials[name]
		cp := fmt.Sprintf("%s.agent_credentials.%s", path, name)
		if !agents[name] {
			es.add(cp, "no agent named %q", name)
		}
		c.validate(cp, es)
	}
	ids := map[string]bool{}
	for j, m := range l.Models {
		mp := fmt.Sprintf("%s.models[%d]", path, j)
		if !nameRE.MatchString(m.ID) {
			es.add(mp+".id", "invalid rule id %q", m.ID)
		}
		if ids[m.ID] {
			es.add(mp+".id", "duplicate rule id %q", m.ID)
		}
		ids[m.ID] = true
		if len(m.Allow) == 0 {
			es.add(mp+".allow", "at least one model pattern is required")
		}
		for k, a := range m.Agents {
			if !agents[a] {
				es.add(fmt.Sprintf("%s.agents[%d]", mp, k), "no agent named %q", a)
			}
		}
		for k, g := range m.Groups {
			if !groups[g] {
				es.add(fmt.Sprintf("%s.groups[%d]", mp, k), "no agent is in group %q", g)
			}
		}
	}
	for j, r := range l.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", path, j)
		if len(r.Models) == 0 {
			es.add(rp+".models", "at least one model pattern is required")
		}
		if r.Cluster == "" {
			es.add(rp+".cluster", "required: the Envoy cluster these models go to")
		}
	}
	if !headerRE.MatchString(l.RouteHeader) || !strings.HasPrefix(l.RouteHeader, "x-agentguard-") {
		// Only agentguard's namespace is stripped from clients: a route
		// header outside it would let a client pick the cluster that
		// receives the provider key.
		es.add(path+".route_header", "must be a lowercase header name starting with x-agentguard-, not %q", l.RouteHeader)
	}
	if !headerRE.MatchString(l.WorkflowHeader) {
		es.add(path+".workflow_header", "must be a lowercase header name, not %q", l.WorkflowHeader)
	}
	if l.MaxEventBytes < 1024 {
		es.add(path+".max_event_bytes", "must be at least 1024")
	}
}

func (c Credential) validate(path string, es *Errors) {
	if c.File == "" && c.Env == "" {
		es.add(path, "file or env is required: agentguard reads the secret, clients never send it")
	}
	if c.File != "" && !strings.HasPrefix(c.File, "/") {
		es.add(path+".file", "must be an absolute path, not %q", c.File)
	}
	if c.Env != "" && !envRE.MatchString(c.Env) {
		es.add(path+".env", "invalid environment variable name %q", c.Env)
	}
}
