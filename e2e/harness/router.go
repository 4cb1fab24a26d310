package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// retryPolicy is route_components.proto RetryPolicy, with the conditions
// of the router filter docs ("x-envoy-retry-on"): 5xx, gateway-error,
// connect-failure, refused-stream, reset, retriable-4xx,
// retriable-status-codes.
type retryPolicy struct {
	on         map[string]bool
	codes      map[int]bool
	numRetries int
	base, max  time.Duration
	// rate_limited_retry_back_off
	resetHeaders []resetHeader
	resetMax     time.Duration
}

type resetHeader struct {
	name    string
	seconds bool // SECONDS; otherwise UNIX_TIMESTAMP
}

func newRetryPolicy(rp *routev3.RetryPolicy) (*retryPolicy, error) {
	p := &retryPolicy{on: map[string]bool{}, codes: map[int]bool{}, numRetries: 1,
		// Default back-off: base 25 ms, max 10× base (router filter docs,
		// "x-envoy-max-retries"; RetryPolicy.RetryBackOff).
		base: 25 * time.Millisecond}
	for _, s := range strings.Split(rp.GetRetryOn(), ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "":
		case "5xx", "gateway-error", "connect-failure", "refused-stream", "reset", "retriable-4xx", "retriable-status-codes":
			p.on[s] = true
		default:
			return nil, fmt.Errorf("retry_on %q is not implemented", s)
		}
	}
	for _, c := range rp.GetRetriableStatusCodes() {
		p.codes[int(c)] = true
	}
	if rp.GetNumRetries() != nil {
		p.numRetries = int(rp.GetNumRetries().GetValue())
	}
	if bo := rp.GetRetryBackOff(); bo != nil {
		p.base = max(bo.GetBaseInterval().AsDuration(), time.Millisecond)
		if bo.GetMaxInterval() != nil {
			p.max = bo.GetMaxInterval().AsDuration()
		}
	}
	if p.max == 0 {
		p.max = 10 * p.base
	}
	if rl := rp.GetRateLimitedRetryBackOff(); rl != nil {
		for _, h := range rl.GetResetHeaders() {
			p.resetHeaders = append(p.resetHeaders, resetHeader{name: h.GetName(), seconds: h.GetFormat() == routev3.RetryPolicy_SECONDS})
		}
		// Default max_interval 300 s (RetryPolicy.RateLimitedRetryBackOff).
		p.resetMax = 300 * time.Second
		if rl.GetMaxInterval() != nil {
			p.resetMax = rl.GetMaxInterval().AsDuration()
		}
	}
	if len(rp.GetRetriableHeaders()) > 0 || len(rp.GetRetriableRequestHeaders()) > 0 || rp.GetRetryPriority() != nil ||
		len(rp.GetRetryHostPredicate()) > 0 || rp.GetPerTryTimeout() != nil || rp.GetPerTryIdleTimeout() != nil {
		return nil, errors.New("retry_policy: only retry_on, retriable_status_codes, num_retries, retry_back_off and rate_limited_retry_back_off are implemented")
	}
	return p, nil
}

// retriableStatus tells whether a response status is retried.
func (p *retryPolicy) retriableStatus(code int) bool {
	switch {
	case p.on["5xx"] && code >= 500:
		return true
	case p.on["gateway-error"] && (code == 502 || code == 503 || code == 504):
		return true
	case p.on["retriable-4xx"] && code == 409:
		return true
	case p.on["retriable-status-codes"] && p.codes[code]:
		return true
	}
	return false
}

// retriableError tells whether a failure before response headers is
// retried: a connect failure is retried by connect-failure, 5xx and
// gateway-error; any other reset by reset and 5xx.
func (p *retryPolicy) retriableError(connect bool) bool {
	if connect {
		return p.on["connect-failure"] || p.on["5xx"] || p.on["gateway-error"]
	}
	return p.on["reset"] || p.on["5xx"]
}

// backOff is the wait before retry n (1-based): the first reset header of
// the response that parses and is within max_interval
// (RateLimitedRetryBackOff: "If a reset header contains an interval longer
// than this then it will be discarded and the next header will be tried",
// and without one the default back-off applies), else Envoy's fully
// jittered exponential back-off, random in [0, (2^n-1)*base] capped at max.
func (p *retryPolicy) backOff(n int, h http.Header) time.Duration {
	if h != nil {
		for _, rh := range p.resetHeaders {
			v := strings.TrimSpace(h.Get(rh.name))
			if v == "" {
				continue
			}
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil || secs < 0 {
				continue
			}
			d := time.Duration(secs) * time.Second
			if !rh.seconds {
				d = time.Until(time.Unix(secs, 0))
			}
			if d < 0 || d > p.resetMax {
				continue
			}
			return d
		}
	}
	ceiling := p.base * time.Duration((1<<min(n, 30))-1)
	if ceiling > p.max || ceiling <= 0 {
		ceiling = p.max
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// forward is the router filter: pick the route (after the request phase,
// so clear_route_cache is honoured), the cluster, rewrite, send upstream
// with the route's timeout and retries, and return the upstream response
// (streaming) or the router's local reply.
func (h *Harness) forward(ctx context.Context, x *exchange) *response {
	r := x.currentRoute()
	if r == nil {
		// No route: 404 (router filter docs; response flag NR).
		return localReply(http.StatusNotFound, "")
	}
	if r.direct != nil {
		resp := localReply(int(r.direct.GetStatus()), string(r.direct.GetBody().GetInlineBytes())+r.direct.GetBody().GetInlineString())
		return resp
	}
	name := x.routeCluster
	cl := h.clusters[name]
	if cl == nil {
		x.log.Debug("harness: unknown cluster", "cluster", name)
		return localReply(r.notFoundCode, "")
	}
	path := x.req.value(":path")
	if r.prefixRewrite != "" && r.prefix != "" {
		path = r.prefixRewrite + path[len(r.prefix):]
	} else if r.prefixRewrite != "" && r.path != "" {
		p, q, hasQ := strings.Cut(path, "?")
		path = r.prefixRewrite + p[len(r.path):]
		if hasQ {
			path += "?" + q
		}
	}
	authority := x.req.value(":authority")
	if r.hostRewrite != "" {
		authority = r.hostRewrite
	}

	// The body: replayable when retries may need it. Envoy buffers it for
	// retries up to the buffer limit and gives up retrying beyond
	// (router filter docs, "retry ... request body buffered").
	var body []byte
	replay := false
	var stream io.Reader = x.body
	if x.body != nil && r.retry != nil {
		data, over, err := readLimited(x.body, x.l.bufferLimit)
		if err != nil {
			if x.abort != nil {
				return x.abort
			}
			return localReply(http.StatusBadRequest, "")
		}
		if over {
			stream = io.MultiReader(bytes.NewReader(data), x.body)
		} else {
			body, replay, stream = data, true, nil
		}
	}

	uctx, cancel := context.WithCancel(ctx)
	if r.timeout > 0 {
		// The route timeout spans the whole exchange including retries
		// (RouteAction.timeout).
		uctx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	scheme := "http"
	if cl.tls != nil {
		scheme = "https"
	}
	retries := 0
	for {
		var rb io.Reader
		switch {
		case replay:
			rb = bytes.NewReader(body)
		case stream != nil:
			rb = stream
		}
		req, err := http.NewRequestWithContext(uctx, x.req.value(":method"), scheme+"://"+cl.addr+path, rb)
		if err != nil {
			cancel()
			return localReply(http.StatusBadRequest, "")
		}
		req.Host = authority
		req.Header = x.req.toHTTP()
		req.Header.Del("content-length")
		req.ContentLength = -1
		if rb == nil {
			req.ContentLength = 0
			req.Body = nil
		} else if cl := x.req.value("content-length"); cl != "" {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
				req.ContentLength = n
			}
		}
		if req.ContentLength == 0 && rb != nil {
			req.Body = http.NoBody
		}
		resp, err := cl.transport.RoundTrip(req)
		if err != nil {
			if x.abort != nil {
				cancel()
				return x.abort
			}
			if uctx.Err() != nil && ctx.Err() == nil {
				cancel()
				// Route timeout before response headers: 504 (router
				// filter docs, "upstream request timeout").
				return localReply(http.StatusGatewayTimeout, "upstream request timeout")
			}
			var opErr *net.OpError
			connect := errors.As(err, &opErr) && opErr.Op == "dial"
			if r.retry != nil && (replay || x.body == nil) && retries < r.retry.numRetries && r.retry.retriableError(connect) {
				retries++
				if !sleepCtx(uctx, r.retry.backOff(retries, nil)) {
					cancel()
					return localReply(http.StatusGatewayTimeout, "upstream request timeout")
				}
				continue
			}
			cancel()
			x.log.Debug("harness: upstream failure", "cluster", name, "err", err)
			reason := "connection failure"
			if !connect {
				reason = "remote reset"
			}
			// Connect failure or reset before headers: 503 (router filter
			// docs; Envoy's body text).
			return localReply(http.StatusServiceUnavailable,
				"upstream connect error or disconnect/reset before headers. reset reason: "+reason)
		}
		if r.retry != nil && (replay || x.body == nil) && retries < r.retry.numRetries && r.retry.retriableStatus(resp.StatusCode) {
			retries++
			wait := r.retry.backOff(retries, resp.Header)
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			x.log.Debug("harness: retrying", "status", resp.StatusCode, "wait", wait, "retry", retries)
			if !sleepCtx(uctx, wait) {
				cancel()
				return localReply(http.StatusGatewayTimeout, "upstream request timeout")
			}
			continue
		}
		out := &response{status: resp.StatusCode}
		out.h.fromHTTP(resp.Header)
		if resp.ContentLength >= 0 && !out.h.has("content-length") {
			out.h.set("content-length", strconv.FormatInt(resp.ContentLength, 10))
		}
		out.body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return out
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
