package envoyconfig

import (
	"fmt"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/policies"
)

// Options is what Validate knows about the agentguard deployment the Envoy
// config must serve. A zero field turns its check off.
type Options struct {
	// Profiles are the profile names agentguard's config defines; every
	// profile an Envoy listener names must be one of them.
	Profiles []string
	// ExpectPorts maps each listener port to the profile it must name. Every
	// port must have a listener, and no listener may use another port.
	ExpectPorts map[uint32]string
	// DecisionTimeout is agentguard's decision_timeout; Envoy's per-message
	// timeout (ext_proc message_timeout, ext_authz grpc_service.timeout)
	// must be larger.
	DecisionTimeout time.Duration
	// RouteHeaders are the headers agentguard sets for Envoy to route on
	// (mcp.route_header); a cluster_header route must name one of them.
	RouteHeaders []string
	// RouteClusters are the clusters agentguard may name in a route header
	// (mcp.servers[].cluster); each must exist.
	RouteClusters []string
	// ModeOverrideProfiles are the profiles whose response phase needs
	// mode_override (protocol mcp: tools/list filtering).
	ModeOverrideProfiles []string
	// MaxBodyBytes is each profile's max_body_bytes: Envoy must be able to
	// buffer a body that large, or it answers 413 to requests agentguard
	// would accept.
	MaxBodyBytes map[string]int64
}

// DocumentedPorts returns the seed deployment's listener ports (README and
// DESIGN.md): 9080 orchestrator, 9081 anthropic, 9082 openai, 9083 mcp.
func DocumentedPorts() map[uint32]string {
	return map[uint32]string{9080: "orchestrator", 9081: "anthropic", 9082: "openai", 9083: "mcp"}
}

// OptionsFromConfig derives Options from a loaded agentguard config (with its
// defaults applied, as config.Parse returns it) and the expected ports.
func OptionsFromConfig(f *config.File, ports map[uint32]string) Options {
	o := Options{
		ExpectPorts:     ports,
		DecisionTimeout: time.Duration(f.DecisionTimeout),
		MaxBodyBytes:    map[string]int64{},
	}
	for _, p := range f.Profiles {
		o.Profiles = append(o.Profiles, p.Name)
		o.MaxBodyBytes[p.Name] = p.MaxBodyBytes
		if p.MCP == nil {
			continue
		}
		o.ModeOverrideProfiles = append(o.ModeOverrideProfiles, p.Name)
		o.RouteHeaders = appendNew(o.RouteHeaders, p.MCP.RouteHeader)
		for _, s := range p.MCP.Servers {
			o.RouteClusters = appendNew(o.RouteClusters, s.Cluster)
		}
	}
	return o
}

// CodeReviewOptions loads the embedded default deployment
// (policies/codereview.yaml) and returns its Options with DocumentedPorts.
func CodeReviewOptions() (Options, error) {
	f, err := config.Parse(policies.CodeReviewName, policies.CodeReview)
	if err != nil {
		return Options{}, fmt.Errorf("agentguard config: %w", err)
	}
	return OptionsFromConfig(f, DocumentedPorts()), nil
}

func appendNew(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
