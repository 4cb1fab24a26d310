package engine

import (
	"fmt"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/identity"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/pricing"
)

// Runtime is one loaded configuration, compiled: immutable and shared by all
// exchanges that started while it was current.
type Runtime struct {
	File     *config.File
	Source   string // file name, for the admin output
	Loaded   time.Time
	profiles []*Profile
	byName   map[string]*Profile
	fallback *Profile // default_profile, or nil: deny
	bySPIFFE map[string]*agentInfo
	byAgent  map[string]*agentInfo
	timeout  time.Duration
	prices   *pricing.Table
	failOpen bool // for requests that match no profile
	// detectors run the profiles' inspection; nil when none inspects.
	detectors *inspect.Set
}

type agentInfo struct {
	name   string
	groups []string
}

// Profile is one compiled traffic class.
type Profile struct {
	Name, Protocol string
	cfg            *config.Profile
	resolver       *identity.Resolver
	policy         *policy.Set
	handler        handler
	failOpen       bool
	maxBody        int64
	logArgs        []string
	inspect        profileInspect
	limits         []*profileLimit
}

// Compile turns a validated config into a Runtime, compiling every CEL
// expression. It returns config.Errors listing every problem.
func Compile(f *config.File, source string) (*Runtime, error) {
	env, err := policy.NewEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	rt := &Runtime{
		File: f, Source: source, Loaded: time.Now(),
		byName:   map[string]*Profile{},
		bySPIFFE: map[string]*agentInfo{},
		byAgent:  map[string]*agentInfo{},
		timeout:  time.Duration(f.DecisionTimeout),
		failOpen: f.FailureMode == "open",
		prices:   pricing.Default(),
	}
	if len(f.Pricing.Models) > 0 {
		asOf := f.Pricing.AsOf
		if asOf == "" {
			asOf = "config"
		}
		rt.prices = rt.prices.Merge(asOf, f.Pricing.Models)
	}
	for _, a := range f.Agents {
		ai := &agentInfo{name: a.Name, groups: a.Groups}
		rt.byAgent[a.Name] = ai
		for _, s := range a.SPIFFE {
			id, err := identity.ParseSPIFFEID(s)
			if err != nil {
				return nil, config.Errors{{Msg: err.Error()}} // unreachable after Validate
			}
			rt.bySPIFFE[id.String()] = ai
		}
	}
	var es config.Errors
	if rt.detectors, err = buildDetectors(f); err != nil {
		es = append(es, config.Error{Path: "detectors", Msg: err.Error()})
	}
	for i := range f.Profiles {
		pc := &f.Profiles[i]
		path := fmt.Sprintf("profiles[%d]", i)
		res, err := identity.NewResolver(pc.Identity.ResolverOptions())
		if err != nil {
			es = append(es, config.Error{Path: path + ".identity", Msg: err.Error()})
			continue
		}
		set, perrs := policy.Compile(env, pc, path, f.CELCostLimit)
		es = append(es, perrs...)
		lims, lerrs := compileLimits(env, pc, path, f.CELCostLimit)
		es = append(es, lerrs...)
		p := &Profile{
			Name: pc.Name, Protocol: pc.Protocol, cfg: pc,
			resolver: res, policy: set,
			failOpen: pc.FailureMode == "open",
			maxBody:  pc.MaxBodyBytes,
			logArgs:  pc.Audit.LogArguments,
			inspect:  newProfileInspect(pc, &f.Detectors),
			limits:   lims,
		}
		h, err := newHandler(pc)
		if err != nil {
			es = append(es, config.Error{Path: path + ".protocol", Msg: err.Error()})
			continue
		}
		p.handler = h
		rt.profiles = append(rt.profiles, p)
		rt.byName[p.Name] = p
	}
	if len(es) > 0 {
		return nil, es
	}
	rt.fallback = rt.byName[f.DefaultProfile]
	return rt, nil
}

// LoadFile parses, validates and compiles one config file's bytes.
func LoadFile(name string, data []byte) (*Runtime, error) {
	f, err := config.Parse(name, data)
	if err != nil {
		return nil, err
	}
	rt, err := Compile(f, name)
	if es, ok := err.(config.Errors); ok {
		config.Locate(data, es)
		for i := range es {
			es[i].File = name
		}
		return nil, es
	}
	return rt, err
}

// Profiles lists the profile names in config order.
func (rt *Runtime) Profiles() []string {
	out := make([]string, len(rt.profiles))
	for i, p := range rt.profiles {
		out[i] = p.Name
	}
	return out
}

// agentFor maps an identity to a configured agent.
func (rt *Runtime) agentFor(id identity.Identity) policy.Agent {
	a := policy.Agent{Source: string(id.Source), SPIFFE: id.SPIFFE, Authenticated: true}
	var ai *agentInfo
	if id.SPIFFE != "" {
		ai = rt.bySPIFFE[id.SPIFFE]
	} else {
		ai = rt.byAgent[id.Name]
	}
	if ai != nil {
		a.Name, a.Groups = ai.name, ai.groups
	}
	return a
}
