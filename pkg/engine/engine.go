package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentguard/agentguard/pkg/limits"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// Engine decides exchanges with the current Runtime.
type Engine struct {
	rt      atomic.Pointer[Runtime]
	log     *slog.Logger
	metrics *telemetry.Metrics
	audit   *telemetry.Auditor
	now     func() time.Time
	limits  LimitStore
	// workflows bounds the workflow label: the first maxWorkflows distinct
	// values are labels, later ones "other".
	workflows sync.Map
	nWorkflow atomic.Int64
}

const maxWorkflows = 100

// workflowLabel returns v as a metric label while the set of distinct
// values is small, else "other": the value comes from a client header.
func (e *Engine) workflowLabel(v string) string {
	if v == "" {
		return "none"
	}
	if _, ok := e.workflows.Load(v); ok {
		return v
	}
	if e.nWorkflow.Add(1) > maxWorkflows {
		e.nWorkflow.Add(-1)
		return "other"
	}
	if _, loaded := e.workflows.LoadOrStore(v, struct{}{}); loaded {
		e.nWorkflow.Add(-1)
	}
	return v
}

// Options are the Engine's collaborators.
type Options struct {
	Log     *slog.Logger
	Metrics *telemetry.Metrics
	Audit   *telemetry.Auditor // nil: no audit log
	Now     func() time.Time   // nil: time.Now
	// Limits counts rate limits and budgets; nil: a limits.Memory on Now.
	// Built once per process, not per Runtime, so that reloads keep it.
	Limits LimitStore
}

// New returns an Engine serving rt.
func New(rt *Runtime, o Options) *Engine {
	e := &Engine{log: o.Log, metrics: o.Metrics, audit: o.Audit, now: o.Now, limits: o.Limits}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.metrics == nil {
		e.metrics = telemetry.NewMetrics()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.limits == nil {
		e.limits = limits.NewMemory(e.now)
	}
	e.rt.Store(rt)
	return e
}

// Swap makes rt current for exchanges that start from now on.
func (e *Engine) Swap(rt *Runtime) { e.rt.Store(rt) }

// Runtime is the current Runtime.
func (e *Engine) Runtime() *Runtime { return e.rt.Load() }

// Start begins an exchange. ctx is the stream's context: when it ends, the
// exchange's work stops.
func (e *Engine) Start(ctx context.Context, m Meta) *Exchange {
	rt := e.rt.Load()
	return &Exchange{
		e: e, rt: rt, ctx: ctx, meta: m, start: e.now(),
		rec: telemetry.Record{Time: e.now(), Adapter: m.Adapter},
	}
}
