package engine

import "context"

// Outcome is the decision on one request evaluated offline (agentguard
// eval, agentguard test): what Envoy would have been told.
type Outcome struct {
	Decision string // allow, deny, error
	Rule     string
	Reason   string
	Status   int    // the reply's status when denied
	Reply    *Reply // nil when allowed
	Headers  []HeaderValue
	Remove   []string
	// Body is the request body sent upstream (redacted where the profile
	// redacts); nil when denied.
	Body []byte
	// Err is the internal failure behind an "error" decision: for the
	// operator at the terminal, never sent to a client.
	Err error
}

// Evaluate runs one request through the same path an ext_proc stream takes:
// request headers, then the body (when there is one) as one buffered message.
func (e *Engine) Evaluate(ctx context.Context, m Meta, h Header, body []byte) Outcome {
	if m.RequestBodyMode == BodyModeUnchanged {
		m.RequestBodyMode = BodyBuffered
	}
	x := e.Start(ctx, m)
	defer x.Finish("")
	res := x.RequestHeaders(h, body == nil)
	out := Outcome{}
	collect := func(r Result) {
		out.Headers = append(out.Headers, r.SetHeaders...)
		out.Remove = append(out.Remove, r.RemoveHeaders...)
		out.Reply = r.Reply
	}
	collect(res)
	if res.Reply == nil && body != nil {
		r := x.RequestBody(body, true)
		collect(r)
		if r.Reply == nil {
			out.Body = body
			if r.BodySet {
				out.Body = r.Body
			}
		}
	}
	out.Decision, out.Rule, out.Reason, out.Err = x.rec.Decision, x.rec.Rule, x.rec.Reason, x.lastErr
	if out.Reply != nil {
		out.Status = out.Reply.Status
	}
	return out
}
