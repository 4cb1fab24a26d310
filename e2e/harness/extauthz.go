package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/metadata"
)

type extAuthzConfig struct {
	h          *Harness
	name       string
	cluster    string
	metadata   [][2]string
	timeout    time.Duration
	failOpen   bool
	errStatus  int
	withBody   *extauthzv3.BufferSettings
	clearCache bool
	checker    *checker
}

// Default Check timeout: 200 ms when grpc_service.timeout is unset
// (ext_authz filter docs / source/extensions/filters/http/ext_authz/config.cc).
const defaultAuthzTimeout = 200 * time.Millisecond

func newExtAuthzConfig(name string, c *extauthzv3.ExtAuthz, h *Harness) (*extAuthzConfig, error) {
	fc := &extAuthzConfig{h: h, name: name, failOpen: c.GetFailureModeAllow(), withBody: c.GetWithRequestBody(),
		clearCache: c.GetClearRouteCache(), timeout: defaultAuthzTimeout,
		// status_on_error: "The default status is HTTP 403 Forbidden"
		// (ext_authz.proto).
		errStatus: http.StatusForbidden}
	if c.GetHttpService() != nil || c.GetGrpcService().GetGoogleGrpc() != nil {
		return nil, errors.New("only grpc_service.envoy_grpc is implemented")
	}
	fc.cluster = c.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	if h.clusters[fc.cluster] == nil {
		return nil, fmt.Errorf("grpc_service names cluster %q, which does not exist", fc.cluster)
	}
	if t := c.GetGrpcService().GetTimeout(); t != nil {
		fc.timeout = t.AsDuration()
	}
	for _, hv := range c.GetGrpcService().GetInitialMetadata() {
		v, err := headerValue(hv)
		if err != nil {
			return nil, err
		}
		fc.metadata = append(fc.metadata, [2]string{strings.ToLower(hv.GetKey()), v})
	}
	if s := c.GetStatusOnError(); s != nil && s.GetCode() != 0 {
		fc.errStatus = int(s.GetCode())
	}
	var err error
	// ext_authz decoder header mutations obey decoder_header_mutation_rules
	// when set (ext_authz.proto); otherwise the ext_authz filter applies
	// what the service returns.
	if r := c.GetDecoderHeaderMutationRules(); r != nil {
		if fc.checker, err = newChecker(r, h.envoyPrefix); err != nil {
			return nil, err
		}
	}
	return fc, nil
}

func (c *extAuthzConfig) newFilter(x *exchange) streamFilter { return &extAuthzFilter{c: c} }

type extAuthzFilter struct{ c *extAuthzConfig }

func (f *extAuthzFilter) encode(_ context.Context, _ *exchange, r *response) *response { return r }
func (f *extAuthzFilter) done()                                                        {}

// decode sends one Check and applies its answer (ext_authz filter docs;
// service/auth/v3/external_auth.proto).
func (f *extAuthzFilter) decode(ctx context.Context, x *exchange) *response {
	c := f.c
	ctxExt := map[string]string{}
	withBody := c.withBody
	// ExtAuthzPerRoute (ext_authz.proto): disabled, or check_settings whose
	// context_extensions merge, the more specific winning per key.
	for _, a := range x.currentRoute().perFilterConfig(c.name) {
		var pr extauthzv3.ExtAuthzPerRoute
		if err := a.UnmarshalTo(&pr); err != nil {
			continue
		}
		if pr.GetDisabled() {
			return nil
		}
		cs := pr.GetCheckSettings()
		for k, v := range cs.GetContextExtensions() {
			ctxExt[k] = v
		}
		if cs.GetDisableRequestBodyBuffering() {
			withBody = nil
		}
		if cs.GetWithRequestBody() != nil {
			withBody = cs.GetWithRequestBody()
		}
	}

	httpReq := &authv3.AttributeContext_HttpRequest{
		Id:       x.req.value("x-request-id"),
		Method:   x.req.value(":method"),
		Path:     x.req.value(":path"),
		Host:     x.req.value(":authority"),
		Scheme:   x.req.value(":scheme"),
		Protocol: "HTTP/1.1",
		Headers:  map[string]string{},
	}
	for _, p := range x.req.kv {
		// Repeated headers are joined with "," in the map.
		if v, ok := httpReq.Headers[p[0]]; ok {
			httpReq.Headers[p[0]] = v + "," + p[1]
		} else {
			httpReq.Headers[p[0]] = p[1]
		}
	}
	if p, q, ok := strings.Cut(httpReq.Path, "?"); ok {
		_ = p
		httpReq.Query = q
	}
	// with_request_body (ext_authz.proto BufferSettings): buffer up to
	// max_request_bytes; over it, 413 without calling the service unless
	// allow_partial_message, which sends the first max_request_bytes and
	// x-envoy-auth-partial-body: true; pack_as_bytes puts it in raw_body.
	if withBody != nil && x.body != nil {
		limit := int64(withBody.GetMaxRequestBytes())
		data, over, err := readLimited(x.body, limit)
		if err != nil {
			return localReply(http.StatusBadRequest, "")
		}
		if over && !withBody.GetAllowPartialMessage() {
			return localReply(http.StatusRequestEntityTooLarge, "Payload Too Large")
		}
		sent := data
		if over {
			sent = data[:limit]
			x.body = io.MultiReader(bytes.NewReader(data), x.body)
		} else {
			x.body = bytes.NewReader(data)
		}
		httpReq.Size = int64(len(sent))
		httpReq.Headers["x-envoy-auth-partial-body"] = strconv.FormatBool(over)
		if withBody.GetPackAsBytes() {
			httpReq.RawBody = sent
		} else {
			httpReq.Body = strings.ToValidUTF8(string(sent), string(utf8.RuneError))
		}
	}
	src := &corev3.Address{}
	if host, port, err := net.SplitHostPort(x.remote); err == nil {
		p, _ := strconv.Atoi(port)
		src = sockAddr(host, p)
	}
	dst := sockAddr("127.0.0.1", int(x.l.port))
	creq := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:            &authv3.AttributeContext_Peer{Address: src, Principal: x.peerSAN},
		Destination:       &authv3.AttributeContext_Peer{Address: dst},
		Request:           &authv3.AttributeContext_Request{Http: httpReq},
		ContextExtensions: ctxExt,
	}}

	conn, err := c.h.grpcConn(c.cluster)
	if err != nil {
		return f.failure(x, err)
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for _, kv := range c.metadata {
		cctx = metadata.AppendToOutgoingContext(cctx, kv[0], kv[1])
	}
	resp, err := authv3.NewAuthorizationClient(conn).Check(cctx, creq)
	if err != nil {
		return f.failure(x, err)
	}
	if resp.GetStatus().GetCode() == int32(code.Code_OK) {
		ok := resp.GetOkResponse()
		changed := false
		// headers_to_remove: pseudo-headers and host are never removed
		// (external_auth.proto OkHttpResponse.headers_to_remove).
		for _, k := range ok.GetHeadersToRemove() {
			k = strings.ToLower(k)
			if strings.HasPrefix(k, ":") || k == "host" {
				continue
			}
			if x.req.has(k) {
				x.req.del(k)
				changed = true
			}
		}
		// headers: "append" defaults to false here: add, or override an
		// existing header (OkHttpResponse.headers).
		for _, o := range ok.GetHeaders() {
			ch, err := applyOption(&x.req, o, c.checker, false, false)
			if err != nil {
				return localReply(http.StatusInternalServerError, "")
			}
			changed = changed || ch
		}
		// clear_route_cache: only on OK and when a header changed
		// (ext_authz.proto).
		if c.clearCache && changed {
			x.clearRouteCache()
		}
		return nil
	}
	if er := resp.GetErrorResponse(); er != nil {
		// error_response: failure_mode_allow applies; status from it or
		// status_on_error (external_auth.proto CheckResponse.error_response).
		if c.failOpen {
			return nil
		}
		st := c.errStatus
		if er.GetStatus() != nil && er.GetStatus().GetCode() != 0 {
			st = int(er.GetStatus().GetCode())
		}
		return deniedReply(st, er.GetHeaders(), er.GetBody())
	}
	// Denied: the DeniedHttpResponse's status, default 403
	// (external_auth.proto DeniedHttpResponse.status), its headers and body.
	d := resp.GetDeniedResponse()
	st := http.StatusForbidden
	if d.GetStatus() != nil && d.GetStatus().GetCode() != 0 {
		st = int(d.GetStatus().GetCode())
	}
	return deniedReply(st, d.GetHeaders(), d.GetBody())
}

func deniedReply(status int, hdrs []*corev3.HeaderValueOption, body string) *response {
	r := localReply(status, body)
	r.h.del("content-type")
	for _, o := range hdrs {
		_, _ = applyOption(&r.h, o, nil, false, false)
	}
	if body != "" && !r.h.has("content-type") {
		r.h.set("content-type", "text/plain")
	}
	r.h.set("content-length", strconv.Itoa(len(body)))
	return r
}

// failure: the service could not be reached, failed, or timed out:
// status_on_error (default 403) unless failure_mode_allow
// (ext_authz.proto).
func (f *extAuthzFilter) failure(x *exchange, err error) *response {
	x.log.Debug("harness: ext_authz failure", "err", err)
	if f.c.failOpen {
		return nil
	}
	return localReply(f.c.errStatus, "")
}

func sockAddr(host string, port int) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)}}}}
}
