package config

import (
	"fmt"
	"math"
	"net"
	"strings"
	"time"
	// A limit's timezone must load on an image without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/agentguard/agentguard/pkg/limits"
)

// LimitsBackend says where the state of rate limits and budgets lives
// (top-level `limits:`; see docs/limits.md). It is read once at start: a
// reload that changes it takes effect on restart.
type LimitsBackend struct {
	// Backend is "memory" (default: each replica counts alone) or "redis"
	// (replicas share every limit).
	Backend string        `yaml:"backend" json:"backend"`
	Redis   *RedisBackend `yaml:"redis" json:"redis,omitempty"`
}

// RedisBackend is the Redis that replicas share limits through.
type RedisBackend struct {
	// Address is host:port.
	Address string `yaml:"address" json:"address"`
	// Password, when set, is read from a file or the environment, never
	// from the config itself.
	Password Credential `yaml:"password" json:"password"`
	DB       int        `yaml:"db" json:"db"`
	// Timeout bounds each decision's round trip (default 25ms); it must be
	// shorter than decision_timeout.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Backoff is how long after a failure decisions skip Redis (default 1s).
	Backoff Duration `yaml:"backoff" json:"backoff"`
	// FailureMode applies while Redis fails: "open" (default) decides with
	// per-replica limits, "closed" refuses with 503.
	FailureMode string `yaml:"failure_mode" json:"failure_mode"`
	// KeyPrefix starts every key agentguard writes (default agentguard:limits:).
	KeyPrefix string `yaml:"key_prefix" json:"key_prefix"`
}

// Limit is one rate limit or budget of a profile: a rate (Rate units per
// Per, at most Burst at once) or a calendar quota (Quota units per Window).
type Limit struct {
	ID string `yaml:"id" json:"id"`
	// When is a CEL bool over the request: the limit applies where it is
	// true (default: every request the policy allows).
	When string `yaml:"when" json:"when,omitempty"`
	// Key is a CEL string naming the bucket (default: the agent); requests
	// with equal keys share one.
	Key string `yaml:"key" json:"key,omitempty"`
	// Unit is what is counted: requests (default), input_tokens,
	// output_tokens, total_tokens or cost_usd.
	Unit string `yaml:"unit" json:"unit"`

	Rate  float64  `yaml:"rate" json:"rate,omitempty"`
	Per   Duration `yaml:"per" json:"per,omitempty"`
	Burst float64  `yaml:"burst" json:"burst,omitempty"`

	Quota float64 `yaml:"quota" json:"quota,omitempty"`
	// Window is day or month; Timezone (IANA, default UTC) says when it
	// turns over.
	Window   string `yaml:"window" json:"window,omitempty"`
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`

	// DefaultMaxTokens is the output estimate of a request that names no
	// max_tokens (token and cost units; default 4096).
	DefaultMaxTokens int64 `yaml:"default_max_tokens" json:"default_max_tokens,omitempty"`
}

// Limit units.
const (
	UnitRequests     = "requests"
	UnitInputTokens  = "input_tokens"
	UnitOutputTokens = "output_tokens"
	UnitTotalTokens  = "total_tokens"
	UnitCostUSD      = "cost_usd"
)

const (
	defaultLimitsTimeout    = 25 * time.Millisecond
	defaultLimitsBackoff    = time.Second
	defaultLimitsKeyPrefix  = "agentguard:limits:"
	defaultLimitsFailMode   = "open"
	defaultMaxTokensLimit   = 4096
	maxDefaultMaxTokens     = 10_000_000
	maxLimitsBackoff        = time.Minute
	redisMaxDB              = 1 << 16
	unitsNeedingLLMProtocol = "input_tokens, output_tokens, total_tokens and cost_usd"
)

var limitUnits = map[string]bool{UnitRequests: true, UnitInputTokens: true, UnitOutputTokens: true, UnitTotalTokens: true, UnitCostUSD: true}

// tokenUnit reports whether u counts LLM tokens or cost, which are
// estimated before the request and corrected by the usage reported after.
func tokenUnit(u string) bool { return u != UnitRequests }

func (b *LimitsBackend) defaults() {
	if b.Backend == "" {
		b.Backend = "memory"
	}
	if r := b.Redis; r != nil {
		if r.Timeout == 0 {
			r.Timeout = Duration(defaultLimitsTimeout)
		}
		if r.Backoff == 0 {
			r.Backoff = Duration(defaultLimitsBackoff)
		}
		if r.FailureMode == "" {
			r.FailureMode = defaultLimitsFailMode
		}
		if r.KeyPrefix == "" {
			r.KeyPrefix = defaultLimitsKeyPrefix
		}
	}
}

func (b *LimitsBackend) validate(f *File, es *Errors) {
	switch b.Backend {
	case "memory":
		if b.Redis != nil {
			es.add("limits.redis", "only allowed with backend redis")
		}
		return
	case "redis":
	default:
		es.add("limits.backend", "must be memory or redis, not %q", b.Backend)
		return
	}
	r := b.Redis
	if r == nil {
		es.add("limits.redis", "required for backend redis (at least the address)")
		return
	}
	if host, port, err := net.SplitHostPort(r.Address); err != nil || host == "" || port == "" {
		es.add("limits.redis.address", "must be host:port, not %q", r.Address)
	}
	if r.Password != (Credential{}) {
		r.Password.validate("limits.redis.password", es)
	}
	if r.DB < 0 || r.DB >= redisMaxDB {
		es.add("limits.redis.db", "must be in [0, %d), not %d", redisMaxDB, r.DB)
	}
	// A decision must end well inside Envoy's message timeout, Redis or not.
	if t := time.Duration(r.Timeout); t <= 0 || t >= time.Duration(f.DecisionTimeout) {
		es.add("limits.redis.timeout", "must be in (0, decision_timeout %s), not %s", time.Duration(f.DecisionTimeout), t)
	}
	if t := time.Duration(r.Backoff); t <= 0 || t > maxLimitsBackoff {
		es.add("limits.redis.backoff", "must be in (0, %s], not %s", maxLimitsBackoff, t)
	}
	if r.FailureMode != "open" && r.FailureMode != "closed" {
		es.add("limits.redis.failure_mode", "must be open or closed, not %q", r.FailureMode)
	}
}

func (l *Limit) defaults() {
	if l.Unit == "" {
		l.Unit = UnitRequests
	}
	if tokenUnit(l.Unit) && l.DefaultMaxTokens == 0 {
		l.DefaultMaxTokens = defaultMaxTokensLimit
	}
}

func (p *Profile) validateLimits(path string, es *Errors) {
	ids := map[string]bool{}
	llm := p.Protocol == "openai" || p.Protocol == "anthropic"
	for j := range p.Limits {
		l := &p.Limits[j]
		lp := fmt.Sprintf("%s.limits[%d]", path, j)
		if !nameRE.MatchString(l.ID) {
			es.add(lp+".id", "invalid limit id %q", l.ID)
		}
		if ids[l.ID] {
			es.add(lp+".id", "duplicate limit id %q", l.ID)
		}
		ids[l.ID] = true
		switch {
		case !limitUnits[l.Unit]:
			es.add(lp+".unit", "must be requests, input_tokens, output_tokens, total_tokens or cost_usd, not %q", l.Unit)
		case tokenUnit(l.Unit) && !llm:
			es.add(lp+".unit", "%s exist only on LLM profiles (openai, anthropic)", unitsNeedingLLMProtocol)
		}
		if l.DefaultMaxTokens != 0 && !tokenUnit(l.Unit) {
			es.add(lp+".default_max_tokens", "only for token and cost units")
		} else if l.DefaultMaxTokens < 0 || l.DefaultMaxTokens > maxDefaultMaxTokens {
			es.add(lp+".default_max_tokens", "must be in [1, %d], not %d", maxDefaultMaxTokens, l.DefaultMaxTokens)
		}
		l.validateShape(lp, es)
	}
}

// validateShape checks that l is a rate or a quota, not both or neither,
// and that the limits package can count it.
func (l *Limit) validateShape(lp string, es *Errors) {
	before := len(*es)
	isRate := l.Rate != 0 || l.Per != 0 || l.Burst != 0
	isQuota := l.Quota != 0 || l.Window != "" || l.Timezone != ""
	switch {
	case isRate && isQuota:
		es.add(lp, "a limit is a rate (rate, per, burst) or a budget (quota, window, timezone), not both")
		return
	case !isRate && !isQuota:
		es.add(lp, "rate and per (a rate limit), or quota and window (a budget), are required")
		return
	case isRate:
		if !finitePositive(l.Rate) {
			es.add(lp+".rate", "must be a positive number, not %v", l.Rate)
		}
		if l.Per <= 0 {
			es.add(lp+".per", "required: the period the rate is counted over (1s, 1m, 1h)")
		}
		if l.Burst != 0 && !finitePositive(l.Burst) {
			es.add(lp+".burst", "must be a positive number, not %v", l.Burst)
		}
	case isQuota:
		if !finitePositive(l.Quota) {
			es.add(lp+".quota", "must be a positive number, not %v", l.Quota)
		}
		if l.Window != "day" && l.Window != "month" {
			es.add(lp+".window", "must be day or month, not %q", l.Window)
		}
		if l.Timezone != "" {
			if _, err := time.LoadLocation(l.Timezone); err != nil || strings.EqualFold(l.Timezone, "local") {
				es.add(lp+".timezone", "unknown IANA time zone %q", l.Timezone)
			}
		}
	}
	if len(*es) > before {
		return // the limits package would only repeat it
	}
	if _, err := l.Spec(""); err != nil {
		es.add(lp, "%s", strings.TrimPrefix(err.Error(), `limits: "": `))
	}
}

func finitePositive(f float64) bool { return f > 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }

// Spec is the limit as the limits package counts it, named name.
func (l *Limit) Spec(name string) (limits.Spec, error) {
	s := limits.Spec{Name: name}
	switch l.Window {
	case "":
		s.Rate, s.Period, s.Burst = l.Rate, time.Duration(l.Per), l.Burst
	case "day", "month":
		s.Window, s.Quota = limits.Day, l.Quota
		if l.Window == "month" {
			s.Window = limits.Month
		}
		s.Location = time.UTC
		if l.Timezone != "" {
			loc, err := time.LoadLocation(l.Timezone)
			if err != nil {
				return limits.Spec{}, fmt.Errorf("timezone: %w", err)
			}
			s.Location = loc
		}
	default:
		return limits.Spec{}, fmt.Errorf("unknown window %q", l.Window)
	}
	return s, s.Validate()
}
