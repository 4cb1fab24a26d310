package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/limits"
	"github.com/agentguard/agentguard/pkg/policy"
)

// LimitStore is where the Engine counts limits: a limits.Memory, or a
// limits.Redis shared by replicas. It outlives Runtimes, so limit state
// survives config reloads.
type LimitStore interface {
	limits.Store
	limits.Reader
}

var (
	_ LimitStore = (*limits.Memory)(nil)
	_ LimitStore = (*limits.Redis)(nil)
)

// profileLimit is one compiled limit of a profile.
type profileLimit struct {
	id, rule, unit string
	spec           limits.Spec
	when           *policy.Expr // nil: every request the policy allows
	key            *policy.Expr // nil: the agent
	// rawKey: the key's values are bounded by the config (the agent, the
	// server, the model), so they are stored and shown as they are;
	// anything else — a header, a path — is stored and shown hashed.
	rawKey           bool
	defaultMaxTokens int64
}

// rawKeyExprs are key expressions whose values come from the config or
// were checked against it before limits run.
var rawKeyExprs = map[string]bool{
	"agent.name": true, "profile.name": true, "mcp.server": true, "mcp.method": true, "mcp.tool.name": true,
	"llm.model": true, "llm.provider": true, "llm.endpoint": true, "webhook.event": true,
}

// maxRawKey bounds a key value stored as it is; a longer one is hashed.
const maxRawKey = 128

func compileLimits(env *cel.Env, pc *config.Profile, path string, costLimit uint64) ([]*profileLimit, config.Errors) {
	var es config.Errors
	out := make([]*profileLimit, 0, len(pc.Limits))
	for i := range pc.Limits {
		l := &pc.Limits[i]
		lp := fmt.Sprintf("%s.limits[%d]", path, i)
		spec, err := l.Spec(pc.Name + "/" + l.ID)
		if err != nil {
			es = append(es, config.Error{Path: lp, Msg: err.Error()}) // unreachable after Validate
			continue
		}
		pl := &profileLimit{id: l.ID, rule: "limit:" + l.ID, unit: l.Unit, spec: spec, rawKey: true,
			defaultMaxTokens: l.DefaultMaxTokens}
		if w := strings.TrimSpace(l.When); w != "" {
			if pl.when, err = policy.CompileBool(env, w, costLimit); err != nil {
				es = append(es, config.Error{Path: lp + ".when", Msg: err.Error()})
			}
		}
		if k := strings.TrimSpace(l.Key); k != "" {
			pl.rawKey = rawKeyExprs[strings.Join(strings.Fields(k), "")]
			if pl.key, err = policy.CompileString(env, k, costLimit); err != nil {
				es = append(es, config.Error{Path: lp + ".key", Msg: err.Error()})
			}
		}
		out = append(out, pl)
	}
	return out, es
}

// limitState is the limit part of an Exchange: what it was charged, to
// correct once the usage is known or to refund when a later take fails.
type limitState struct {
	charges []limitCharge
	settled bool
	// refused are the MCP messages the refusing limit applied to.
	refused []int
}

type limitCharge struct {
	lim    *profileLimit
	key    string
	n      float64
	window time.Time
}

// limitTake is one Take to make: a limit and key, and the units every
// message of the request that it applies to adds up to.
type limitTake struct {
	lim  *profileLimit
	key  string
	n    float64
	msgs []int
}

// takeLimits charges the request to every limit of the profile that
// applies to one of ins (one Input per JSON-RPC message; one otherwise),
// after the policy allowed it. All or nothing: when one refuses, what the
// others took is refunded and the request is denied. nil means go on.
func (x *Exchange) takeLimits(ins ...*policy.Input) *Result {
	lims := x.profile.limits
	if len(lims) == 0 {
		return nil
	}
	ctx := x.deadline()
	var takes []limitTake
	for i, in := range ins {
		var vars *policy.Vars // built only if an expression reads it
		for _, l := range lims {
			if vars == nil && (l.when != nil || l.key != nil) {
				vars = policy.NewVars(in)
			}
			if l.when != nil {
				ok, err := l.when.Bool(ctx, vars)
				if err != nil {
					return x.limitEvalError(l, "when", err)
				}
				if !ok {
					continue
				}
			}
			key, err := x.limitKey(ctx, l, vars)
			if err != nil {
				return x.limitEvalError(l, "key", err)
			}
			takes = addTake(takes, l, key, x.limitUnits(l), i)
		}
	}
	if x.meta.LimitsCharged {
		// Charged by the Check that let the request through: remember the
		// same estimate, to correct it with the real usage; the zero
		// window is the current one.
		for _, t := range takes {
			x.lim.charges = append(x.lim.charges, limitCharge{lim: t.lim, key: t.key, n: t.n})
		}
		return nil
	}
	for i := range takes {
		t := &takes[i]
		d, err := x.e.limits.Take(ctx, t.key, t.lim.spec, t.n)
		if err != nil {
			x.refundLimits()
			if r := x.fail(fmt.Errorf("limit %s: %w", t.lim.id, err)); r.Reply != nil {
				return &r
			}
			return nil // failed open: the request goes on, not limited
		}
		x.countLimit(t.lim, d)
		if !d.Allowed {
			x.refundLimits()
			x.lim.refused = t.msgs
			r := x.deny(limitDenial(t.lim, d))
			return &r
		}
		x.lim.charges = append(x.lim.charges, limitCharge{lim: t.lim, key: t.key, n: t.n, window: d.Window})
	}
	return nil
}

// addTake adds n units of message msg to the take of l and key, so that a
// batch costs one decision per limit and key.
func addTake(takes []limitTake, l *profileLimit, key string, n float64, msg int) []limitTake {
	for i := range takes {
		if takes[i].lim == l && takes[i].key == key {
			takes[i].n += n
			takes[i].msgs = append(takes[i].msgs, msg)
			return takes
		}
	}
	return append(takes, limitTake{lim: l, key: key, n: n, msgs: []int{msg}})
}

// limitKey is the store key of l for this request: profile/limit/value,
// where value is the agent by default, "anonymous" when empty, and hashed
// unless the config bounds it.
func (x *Exchange) limitKey(ctx context.Context, l *profileLimit, vars *policy.Vars) (string, error) {
	v := x.agent.Name
	if l.key != nil {
		var err error
		if v, err = l.key.String(ctx, vars); err != nil {
			return "", err
		}
	}
	switch {
	case v == "":
		v = "anonymous"
	case !l.rawKey || len(v) > maxRawKey:
		sum := sha256.Sum256([]byte(v))
		v = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return x.profile.Name + "/" + l.id + "/" + v, nil
}

// limitEvalError denies: a limit whose expression the request makes fail
// is not skipped, as a rule that fails is not (a client must not escape a
// limit by breaking its key).
func (x *Exchange) limitEvalError(l *profileLimit, what string, err error) *Result {
	x.refundLimits()
	x.e.metrics.PolicyErrors.WithLabelValues(x.profile.Name, l.rule).Inc()
	x.e.log.Warn("limit expression failed to evaluate; the request is denied", "profile", x.profile.Name,
		"limit", l.id, "expression", what, "request_id", x.req.ID, "err", err)
	r := x.deny(denial{status: 403, kind: denyPolicy, rule: l.rule,
		message: "limit " + l.id + " could not be evaluated for this request"})
	return &r
}

// refundLimits gives back what the request took, when it is not forwarded
// after all.
func (x *Exchange) refundLimits() {
	if len(x.lim.charges) == 0 {
		return
	}
	ctx, cancel := x.adjustContext()
	defer cancel()
	for _, c := range x.lim.charges {
		if c.n == 0 {
			continue
		}
		if err := x.e.limits.Adjust(ctx, c.key, c.lim.spec, c.window, -c.n); err != nil {
			x.e.log.Warn("limit refund failed", "profile", x.profile.Name, "limit", c.lim.id, "err", err)
		}
	}
	x.lim.charges = nil
}

// adjustContext bounds corrections: they may run after the stream ended,
// so they do not use the stream's context.
func (x *Exchange) adjustContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), x.rt.timeout)
}

// countLimit records a decision in the metrics.
func (x *Exchange) countLimit(l *profileLimit, d limits.Decision) {
	m := x.e.metrics
	m.LimitDecisions.WithLabelValues(x.profile.Name, l.id, d.Reason.String()).Inc()
	if d.Reason == limits.Unavailable {
		return
	}
	agent := x.agent.Name
	switch {
	case agent != "":
	case !x.agent.Authenticated:
		agent = "anonymous"
	default:
		agent = "other"
	}
	m.LimitRemaining.WithLabelValues(x.profile.Name, l.id, agent).Set(d.Remaining)
}

// Token estimates. A request is charged before its usage is known: its
// input as the bytes of its prompt texts over bytesPerToken, rounded up
// (English prose and code run about four bytes a token in the GPT and
// Claude tokenizers), and its output as max_tokens, or the limit's
// default_max_tokens when it names none. The usage the answer reports
// corrects the charge (settleLimits).
const bytesPerToken = 4

// limitUnits is what the request costs in l's unit, before its usage is
// known.
func (x *Exchange) limitUnits(l *profileLimit) float64 {
	if l.unit == config.UnitRequests {
		return 1
	}
	in, out := x.tokenEstimate(l)
	return x.unitsOf(l.unit, llmUsage{input: in, output: out, known: true})
}

func (x *Exchange) tokenEstimate(l *profileLimit) (in, out int64) {
	req := x.llm.req
	if req == nil || x.llm.endpoint == "count_tokens" {
		return 0, 0 // nothing parsed, or free: counting tokens generates none
	}
	var bytes int64
	for _, t := range req.texts {
		bytes += int64(len(t.Value))
	}
	in = (bytes + bytesPerToken - 1) / bytesPerToken
	if x.llm.endpoint == "embeddings" {
		return in, 0
	}
	out = req.maxTokens
	if out <= 0 {
		out = l.defaultMaxTokens
	}
	return in, out
}

// unitsOf is usage u in unit; cost is priced for the request's model (a
// model the price table does not know costs 0).
func (x *Exchange) unitsOf(unit string, u llmUsage) float64 {
	switch unit {
	case config.UnitInputTokens:
		return float64(u.input)
	case config.UnitOutputTokens:
		return float64(u.output)
	case config.UnitTotalTokens:
		return float64(u.input + u.output)
	case config.UnitCostUSD:
		h, ok := x.profile.handler.(*llmHandler)
		if !ok || x.llm.req == nil {
			return 0
		}
		model := x.llm.req.model
		if x.llm.respModel != "" {
			model = x.llm.respModel
		}
		price, _, ok := x.rt.prices.Lookup(model)
		if !ok {
			return 0
		}
		return price.Cost(h.codec.billable(u))
	}
	return 1
}

// settleLimits corrects every token and cost charge by the real usage
// minus the estimate, once. Without usage the estimate stands, except
// when the provider answered an error, which it does not bill: then the
// estimate is refunded. Request counts are never corrected.
func (x *Exchange) settleLimits() {
	st := &x.lim
	if st.settled || len(st.charges) == 0 {
		return
	}
	known, failed := x.llm.usageKnown, x.rec.Status >= 400
	if !known && !failed {
		return // not yet, or never: a later call may still know more
	}
	st.settled = true
	ctx, cancel := x.adjustContext()
	defer cancel()
	for _, c := range st.charges {
		if c.lim.unit == config.UnitRequests {
			continue
		}
		delta := -c.n
		if known {
			delta += x.unitsOf(c.lim.unit, x.llm.usage)
		}
		if delta == 0 {
			continue
		}
		if err := x.e.limits.Adjust(ctx, c.key, c.lim.spec, c.window, delta); err != nil {
			x.e.log.Warn("limit correction failed", "profile", x.profile.Name, "limit", c.lim.id, "err", err)
		}
	}
}
