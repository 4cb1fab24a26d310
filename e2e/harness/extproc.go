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
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocsvc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// extProcFilterName keys ProcessingRequest.attributes (ext_proc.cc puts the
// request attributes under the filter's canonical name).
const extProcFilterName = "envoy.filters.http.ext_proc"

type extProcConfig struct {
	h          *Harness
	name       string
	cluster    string
	metadata   [][2]string
	mode       *extprocv3.ProcessingMode
	timeout    time.Duration
	failOpen   bool
	allowOver  bool
	allowed    []*extprocv3.ProcessingMode
	checker    *checker
	attrs      []string
	cacheMode  extprocv3.ExternalProcessor_RouteCacheAction
	noClear    bool
	noImmed    bool
	errStatus  int
	errSet     bool
	allowCLHdr bool
}

// Default message_timeout: 200 ms (ext_proc.proto, message_timeout).
const defaultMessageTimeout = 200 * time.Millisecond

func newExtProcConfig(name string, c *extprocv3.ExternalProcessor, h *Harness) (*extProcConfig, error) {
	fc := &extProcConfig{h: h, name: name, failOpen: c.GetFailureModeAllow(), allowOver: c.GetAllowModeOverride(),
		allowed: c.GetAllowedOverrideModes(), attrs: c.GetRequestAttributes(), cacheMode: c.GetRouteCacheAction(),
		noClear: c.GetDisableClearRouteCache(), noImmed: c.GetDisableImmediateResponse(),
		errStatus: http.StatusInternalServerError, allowCLHdr: c.GetAllowContentLengthHeader()}
	if c.GetHttpService() != nil || c.GetGrpcService().GetGoogleGrpc() != nil {
		return nil, errors.New("only grpc_service.envoy_grpc is implemented")
	}
	if c.GetObservabilityMode() || c.GetSendBodyWithoutWaitingForHeaderResponse() ||
		c.GetProcessingRequestModifier() != nil || c.GetOnProcessingResponse() != nil {
		return nil, errors.New("observability_mode, send_body_without_waiting_for_header_response and request/response modifiers are not implemented")
	}
	fc.cluster = c.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	if h.clusters[fc.cluster] == nil {
		return nil, fmt.Errorf("grpc_service names cluster %q, which does not exist", fc.cluster)
	}
	for _, hv := range c.GetGrpcService().GetInitialMetadata() {
		v, err := headerValue(hv)
		if err != nil {
			return nil, err
		}
		fc.metadata = append(fc.metadata, [2]string{strings.ToLower(hv.GetKey()), v})
	}
	fc.mode = defaultMode(c.GetProcessingMode())
	if err := checkModes(fc.mode); err != nil {
		return nil, err
	}
	fc.timeout = defaultMessageTimeout
	if c.GetMessageTimeout() != nil {
		fc.timeout = c.GetMessageTimeout().AsDuration()
	}
	if s := c.GetStatusOnError(); s != nil {
		fc.errStatus, fc.errSet = int(s.GetCode()), true
	}
	var err error
	if fc.checker, err = newChecker(c.GetMutationRules(), h.envoyPrefix); err != nil {
		return nil, err
	}
	return fc, nil
}

func defaultMode(m *extprocv3.ProcessingMode) *extprocv3.ProcessingMode {
	if m == nil {
		// Defaults: headers SEND, bodies NONE, trailers SKIP
		// (processing_mode.proto).
		return &extprocv3.ProcessingMode{}
	}
	return proto.Clone(m).(*extprocv3.ProcessingMode)
}

// checkModes refuses the body modes the harness does not implement.
func checkModes(m *extprocv3.ProcessingMode) error {
	for _, b := range []extprocv3.ProcessingMode_BodySendMode{m.GetRequestBodyMode(), m.GetResponseBodyMode()} {
		switch b {
		case extprocv3.ProcessingMode_NONE, extprocv3.ProcessingMode_STREAMED, extprocv3.ProcessingMode_BUFFERED:
		default:
			return fmt.Errorf("processing_mode body mode %s is not implemented by the harness (NONE, BUFFERED and STREAMED are)", b)
		}
	}
	return nil
}

func (c *extProcConfig) newFilter(x *exchange) streamFilter {
	return &extProcFilter{c: c, x: x}
}

// extProcFilter is one request's ext_proc stream.
type extProcFilter struct {
	c *extProcConfig
	x *exchange

	// effective settings after per-route overrides
	cluster  string
	metadata [][2]string
	mode     *extprocv3.ProcessingMode
	failOpen bool

	mu        sync.Mutex // one outstanding message at a time
	stream    extprocsvc.ExternalProcessor_ProcessClient
	cancel    context.CancelFunc
	recv      chan recvResult
	sentFirst bool
	complete  bool // no more messages: disabled, closed, failed open, or immediate response
}

type recvResult struct {
	resp *extprocsvc.ProcessingResponse
	err  error
}

var (
	errTimeout  = errors.New("ext_proc: message_timeout expired")
	errClosed   = errors.New("ext_proc: stream closed by the server")
	errSpurious = errors.New("ext_proc: spurious message")
)

// processingError is a mutation the filter refused: a local 500 whatever
// failure_mode_allow says (ext_proc.cc, onReceiveMessage sends an
// ImmediateResponse with 500 when applying a response fails).
type processingError struct{ msg string }

func (e *processingError) Error() string { return e.msg }

func (f *extProcFilter) applyPerRoute() {
	c := f.c
	f.cluster, f.metadata, f.mode, f.failOpen = c.cluster, append([][2]string(nil), c.metadata...), proto.Clone(c.mode).(*extprocv3.ProcessingMode), c.failOpen
	// ExtProcPerRoute (ext_proc.proto): disabled, or overrides of
	// processing_mode, grpc_service, grpc_initial_metadata (merged by key,
	// the more specific winning) and failure_mode_allow.
	for _, a := range f.x.currentRoute().perFilterConfig(c.name) {
		var pr extprocv3.ExtProcPerRoute
		if err := a.UnmarshalTo(&pr); err != nil {
			f.x.log.Debug("harness: bad ExtProcPerRoute", "err", err)
			continue
		}
		if pr.GetDisabled() {
			f.complete = true
			continue
		}
		o := pr.GetOverrides()
		if o == nil {
			continue
		}
		f.complete = false
		if o.GetProcessingMode() != nil && checkModes(o.GetProcessingMode()) == nil {
			f.mode = proto.Clone(o.GetProcessingMode()).(*extprocv3.ProcessingMode)
		}
		if gs := o.GetGrpcService(); gs != nil {
			f.cluster = gs.GetEnvoyGrpc().GetClusterName()
		}
		for _, hv := range o.GetGrpcInitialMetadata() {
			v, _ := headerValue(hv)
			k := strings.ToLower(hv.GetKey())
			replaced := false
			for i := range f.metadata {
				if f.metadata[i][0] == k {
					f.metadata[i][1], replaced = v, true
				}
			}
			if !replaced {
				f.metadata = append(f.metadata, [2]string{k, v})
			}
		}
		if o.GetFailureModeAllow() != nil {
			f.failOpen = o.GetFailureModeAllow().GetValue()
		}
	}
}

// open starts the stream: one gRPC stream per HTTP request
// (ext_proc filter docs), initial_metadata as gRPC metadata
// (grpc_service.proto, GrpcService.initial_metadata).
func (f *extProcFilter) open(ctx context.Context) error {
	conn, err := f.c.h.grpcConn(f.cluster)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	for _, kv := range f.metadata {
		sctx = metadata.AppendToOutgoingContext(sctx, kv[0], kv[1])
	}
	s, err := extprocsvc.NewExternalProcessorClient(conn).Process(sctx)
	if err != nil {
		cancel()
		return err
	}
	f.stream, f.cancel = s, cancel
	f.recv = make(chan recvResult, 1)
	go func() {
		for {
			r, err := s.Recv()
			select {
			case f.recv <- recvResult{r, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// call sends one message and waits for its answer within message_timeout
// ("Whenever the data plane sends a message on the stream that requires a
// response, it will reset this timer", ext_proc.proto message_timeout).
func (f *extProcFilter) call(ctx context.Context, req *extprocsvc.ProcessingRequest) (*extprocsvc.ProcessingResponse, error) {
	if f.stream == nil {
		if err := f.open(ctx); err != nil {
			return nil, err
		}
	}
	if !f.sentFirst {
		// protocol_config goes with the first message only
		// (external_processor.proto, ProcessingRequest.protocol_config).
		req.ProtocolConfig = &extprocsvc.ProtocolConfiguration{
			RequestBodyMode:  f.mode.GetRequestBodyMode(),
			ResponseBodyMode: f.mode.GetResponseBodyMode(),
		}
		f.sentFirst = true
	}
	timer := time.NewTimer(f.c.timeout)
	defer timer.Stop()
	if err := f.stream.Send(req); err != nil {
		if errors.Is(err, io.EOF) {
			// The real status comes from Recv.
			select {
			case r := <-f.recv:
				return nil, recvErr(r.err)
			case <-timer.C:
				return nil, errTimeout
			}
		}
		return nil, err
	}
	select {
	case r := <-f.recv:
		if r.err != nil {
			return nil, recvErr(r.err)
		}
		return r.resp, nil
	case <-timer.C:
		return nil, errTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func recvErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errClosed
	}
	return err
}

func (f *extProcFilter) done() {
	if f.stream != nil {
		_ = f.stream.CloseSend()
	}
	if f.cancel != nil {
		f.cancel()
	}
}

// fail ends processing after err and returns the local reply, or nil to
// continue unmodified. From ext_proc.proto failure_mode_allow: a stream
// that cannot be opened, fails, times out or answers out of order fails the
// request with 504 (timeout) or 500 (status_on_error), unless
// failure_mode_allow; a stream the server closes cleanly ends processing
// and the request continues (ext_proc.cc, onGrpcClose).
func (f *extProcFilter) fail(err error) *response {
	f.complete = true
	f.done()
	var pe *processingError
	switch {
	case errors.As(err, &pe):
		return localReply(http.StatusInternalServerError, "")
	case errors.Is(err, errClosed):
		return nil
	case f.failOpen:
		f.x.log.Debug("harness: ext_proc failed open", "err", err)
		return nil
	case errors.Is(err, errTimeout) && !f.c.errSet:
		f.x.log.Debug("harness: ext_proc timeout")
		return localReply(http.StatusGatewayTimeout, "")
	default:
		f.x.log.Debug("harness: ext_proc failure", "err", err)
		return localReply(f.c.errStatus, "")
	}
}

func toProto(m *headerMap) *corev3.HeaderMap {
	out := &corev3.HeaderMap{}
	for _, p := range m.kv {
		// Current Envoy sends raw_value (mutation_utils.cc, headersToProto).
		out.Headers = append(out.Headers, &corev3.HeaderValue{Key: p[0], RawValue: []byte(p[1])})
	}
	return out
}

// attributes builds ProcessingRequest.attributes for request_attributes
// (Envoy attribute docs, "arch_overview_attributes"): destination.port is
// the listener's configured port; connection.uri_san_peer_certificate the
// test hook's SAN. Unknown or unavailable attributes are left out.
func (f *extProcFilter) attributes() map[string]*structpb.Struct {
	if len(f.c.attrs) == 0 {
		return nil
	}
	x := f.x
	fields := map[string]*structpb.Value{}
	_, port, _ := net.SplitHostPort(x.remote)
	for _, a := range f.c.attrs {
		switch a {
		case "destination.port":
			fields[a] = structpb.NewNumberValue(float64(x.l.port))
		case "connection.uri_san_peer_certificate":
			if x.peerSAN != "" {
				fields[a] = structpb.NewStringValue(x.peerSAN)
			}
		case "source.address":
			fields[a] = structpb.NewStringValue(x.remote)
		case "source.port":
			if n, err := strconv.Atoi(port); err == nil {
				fields[a] = structpb.NewNumberValue(float64(n))
			}
		case "request.path":
			fields[a] = structpb.NewStringValue(x.req.value(":path"))
		case "request.url_path":
			p, _, _ := strings.Cut(x.req.value(":path"), "?")
			fields[a] = structpb.NewStringValue(p)
		case "request.host":
			fields[a] = structpb.NewStringValue(x.req.value(":authority"))
		case "request.method":
			fields[a] = structpb.NewStringValue(x.req.value(":method"))
		case "request.scheme":
			fields[a] = structpb.NewStringValue(x.req.value(":scheme"))
		case "request.id":
			fields[a] = structpb.NewStringValue(x.req.value("x-request-id"))
		}
	}
	return map[string]*structpb.Struct{extProcFilterName: {Fields: fields}}
}

// overrideMode applies a mode_override: only in answer to a headers
// message, only with allow_mode_override, and only to a mode listed in
// allowed_override_modes when that is set (request_header_mode not
// compared) (external_processor.proto, ProcessingResponse.mode_override;
// ext_proc.proto, allow_mode_override and allowed_override_modes). The
// override replaces the mode wholesale.
func (f *extProcFilter) overrideMode(r *extprocsvc.ProcessingResponse) {
	mo := r.GetModeOverride()
	if mo == nil {
		return
	}
	if !f.c.allowOver {
		f.x.log.Debug("harness: mode_override ignored: allow_mode_override is false")
		return
	}
	if len(f.c.allowed) > 0 {
		ok := false
		for _, a := range f.c.allowed {
			a2, m2 := proto.Clone(a).(*extprocv3.ProcessingMode), proto.Clone(mo).(*extprocv3.ProcessingMode)
			a2.RequestHeaderMode, m2.RequestHeaderMode = 0, 0
			if proto.Equal(a2, m2) {
				ok = true
			}
		}
		if !ok {
			return
		}
	}
	if err := checkModes(mo); err != nil {
		f.x.log.Debug("harness: mode_override ignored", "err", err)
		return
	}
	rh := f.mode.GetRequestHeaderMode()
	f.mode = proto.Clone(mo).(*extprocv3.ProcessingMode)
	f.mode.RequestHeaderMode = rh
	f.x.log.Debug("harness: mode_override", "mode", f.mode.String())
}

// immediate turns an ImmediateResponse into the local reply
// (ext_proc.cc, sendImmediateResponse): status default 200, a status
// below 200 replaced by 200, headers through the mutation rules, body.
// With disable_immediate_response it is ignored and processing ends
// (ext_proc.proto).
func (f *extProcFilter) immediate(ir *extprocsvc.ImmediateResponse) *response {
	f.complete = true
	f.done()
	if f.c.noImmed {
		return nil
	}
	status := 200
	if ir.GetStatus() != nil && int(ir.GetStatus().GetCode()) >= 200 {
		status = int(ir.GetStatus().GetCode())
	}
	r := &response{status: status, local: true}
	if hm := ir.GetHeaders(); hm != nil {
		if _, err := applyExtProcMutation(&r.h, hm, f.c.checker, false); err != nil {
			f.x.log.Debug("harness: immediate response header mutation failed", "err", err)
		}
	}
	r.h.set("content-length", strconv.Itoa(len(ir.GetBody())))
	if len(ir.GetBody()) > 0 {
		r.body = io.NopCloser(bytes.NewReader(ir.GetBody()))
	}
	return r
}

// clearRoute honours clear_route_cache in a request-direction answer
// (external_processor.proto CommonResponse.clear_route_cache; "ignored in
// the response direction"), subject to route_cache_action /
// disable_clear_route_cache (ext_proc.proto): CLEAR clears on any header
// mutation, RETAIN never.
func (f *extProcFilter) clearRoute(cr *extprocsvc.CommonResponse, mutated bool) {
	switch f.c.cacheMode {
	case extprocv3.ExternalProcessor_RETAIN:
		return
	case extprocv3.ExternalProcessor_CLEAR:
		if mutated {
			f.x.clearRouteCache()
		}
		return
	}
	if cr.GetClearRouteCache() && !f.c.noClear {
		f.x.clearRouteCache()
	}
}

// removesContentLength is processor_state.h shouldRemoveContentLength
// (and processing_mode.proto BodySendMode): STREAMED, or BUFFERED without
// the headers being sent, drop content-length, since the processor may
// change the body after the headers are gone.
func removesContentLength(body extprocv3.ProcessingMode_BodySendMode, hdr extprocv3.ProcessingMode_HeaderSendMode) bool {
	return body == extprocv3.ProcessingMode_STREAMED ||
		(body == extprocv3.ProcessingMode_BUFFERED && hdr == extprocv3.ProcessingMode_SKIP)
}

// decode is the request phase.
func (f *extProcFilter) decode(ctx context.Context, x *exchange) *response {
	f.applyPerRoute()
	if f.complete {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	hasBody := x.body != nil
	if f.mode.GetRequestHeaderMode() != extprocv3.ProcessingMode_SKIP {
		// request_headers, end_of_stream when there is no body
		// (external_processor.proto, HttpHeaders.end_of_stream); the
		// attributes go with the first message (ProcessingRequest.attributes).
		req := &extprocsvc.ProcessingRequest{
			Request: &extprocsvc.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocsvc.HttpHeaders{
				Headers: toProto(&x.req), EndOfStream: !hasBody}},
			Attributes: f.attributes(),
		}
		resp, err := f.call(ctx, req)
		if err != nil {
			return f.fail(err)
		}
		if ir := resp.GetImmediateResponse(); ir != nil {
			return f.immediate(ir)
		}
		hr, ok := resp.GetResponse().(*extprocsvc.ProcessingResponse_RequestHeaders)
		if !ok {
			return f.fail(errSpurious)
		}
		cr := hr.RequestHeaders.GetResponse()
		f.overrideMode(resp)
		protect := hasBody && removesContentLength(f.mode.GetRequestBodyMode(), f.mode.GetRequestHeaderMode()) && !f.c.allowCLHdr
		mutated, err := applyExtProcMutation(&x.req, cr.GetHeaderMutation(), f.c.checker, protect)
		if err != nil {
			return f.fail(&processingError{err.Error()})
		}
		f.clearRoute(cr, mutated)
		if cr.GetStatus() == extprocsvc.CommonResponse_CONTINUE_AND_REPLACE {
			// Replace the whole message; no more body processing for the
			// request (processor_state.cc, handleHeadersResponse).
			if bm := cr.GetBodyMutation(); bm != nil {
				x.req.del("content-length")
				x.body = bytes.NewReader(mutateBody(nil, bm))
			}
			f.mode.RequestBodyMode = extprocv3.ProcessingMode_NONE
			return nil
		}
	}
	if !hasBody {
		return nil
	}
	switch f.mode.GetRequestBodyMode() {
	case extprocv3.ProcessingMode_BUFFERED:
		// The whole body, up to the buffer limit, in one message with
		// end_of_stream (processing_mode.proto BUFFERED). Over the limit the
		// filter manager answers 413 itself (filter_manager.cc,
		// requestDataTooLarge), and the processor never sees the body.
		data, over, err := readLimited(x.body, x.l.bufferLimit)
		if err != nil {
			return localReply(http.StatusBadRequest, "")
		}
		if over {
			f.complete = true
			return localReply(http.StatusRequestEntityTooLarge, "Payload Too Large")
		}
		out, reply := f.bufferedBody(ctx, &x.req, data, true)
		if reply != nil {
			return reply
		}
		x.body = bytes.NewReader(out)
	case extprocv3.ProcessingMode_STREAMED:
		if !f.c.allowCLHdr {
			x.req.del("content-length")
		}
		x.body = &streamedBody{src: x.body, f: f, ctx: ctx, request: true}
	default:
		if removesContentLength(f.mode.GetRequestBodyMode(), f.mode.GetRequestHeaderMode()) && !f.c.allowCLHdr {
			x.req.del("content-length")
		}
	}
	return nil
}

// bufferedBody sends a whole body and applies the answer: header mutations
// (the headers are still held in BUFFERED mode), then the body mutation,
// refused with a 500 when content-length does not match the new body
// (processor_state.cc, handleBufferedBodyCallback / validateContentLength;
// processing_mode.proto: "If they don't match, the corresponding body
// mutation will be rejected and a local reply will be sent").
func (f *extProcFilter) bufferedBody(ctx context.Context, hm *headerMap, data []byte, request bool) ([]byte, *response) {
	body := &extprocsvc.HttpBody{Body: data, EndOfStream: true}
	req := &extprocsvc.ProcessingRequest{}
	if request {
		req.Request = &extprocsvc.ProcessingRequest_RequestBody{RequestBody: body}
	} else {
		req.Request = &extprocsvc.ProcessingRequest_ResponseBody{ResponseBody: body}
	}
	// On a failure that fails open (or an ignored immediate response) the
	// body goes on unmodified.
	bail := func(r *response) ([]byte, *response) { return data, r }
	resp, err := f.call(ctx, req)
	if err != nil {
		return bail(f.fail(err))
	}
	if ir := resp.GetImmediateResponse(); ir != nil {
		return bail(f.immediate(ir))
	}
	var cr *extprocsvc.CommonResponse
	switch v := resp.GetResponse().(type) {
	case *extprocsvc.ProcessingResponse_RequestBody:
		if !request {
			return bail(f.fail(errSpurious))
		}
		cr = v.RequestBody.GetResponse()
	case *extprocsvc.ProcessingResponse_ResponseBody:
		if request {
			return bail(f.fail(errSpurious))
		}
		cr = v.ResponseBody.GetResponse()
	default:
		return bail(f.fail(errSpurious))
	}
	// A mode_override here is ignored (ProcessingResponse.mode_override).
	mutated, err := applyExtProcMutation(hm, cr.GetHeaderMutation(), f.c.checker, false)
	if err != nil {
		return bail(f.fail(&processingError{err.Error()}))
	}
	if bm := cr.GetBodyMutation(); bm != nil && changesBody(bm) {
		// Envoy compares content-length with the mutation's body field
		// (empty for clear_body).
		if cl, ok := hm.get("content-length"); ok {
			if n, err := strconv.Atoi(cl); err == nil && n != len(bm.GetBody()) {
				return bail(f.fail(&processingError{"mismatch between content length and the length of the mutated body"}))
			}
		}
		data = mutateBody(data, bm)
	}
	if request {
		f.clearRoute(cr, mutated)
	}
	return data, nil
}

func changesBody(bm *extprocsvc.BodyMutation) bool {
	switch bm.GetMutation().(type) {
	case *extprocsvc.BodyMutation_Body, *extprocsvc.BodyMutation_ClearBody:
		return true
	}
	return false
}

// mutateBody: "body" replaces, "clear_body" empties (mutation_utils.cc,
// applyBodyMutations).
func mutateBody(data []byte, bm *extprocsvc.BodyMutation) []byte {
	switch m := bm.GetMutation().(type) {
	case *extprocsvc.BodyMutation_Body:
		return m.Body
	case *extprocsvc.BodyMutation_ClearBody:
		if m.ClearBody {
			return nil
		}
	}
	return data
}

// streamChunk sends one STREAMED chunk and returns what replaces it. Header
// mutations in a streamed body answer are not applied: the headers have
// already gone on (processor_state.cc, "Response had header mutations but
// headers aren't available").
func (f *extProcFilter) streamChunk(ctx context.Context, chunk []byte, eos, request bool) ([]byte, *response, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.complete {
		return chunk, nil, true
	}
	body := &extprocsvc.HttpBody{Body: chunk, EndOfStream: eos}
	req := &extprocsvc.ProcessingRequest{}
	if request {
		req.Request = &extprocsvc.ProcessingRequest_RequestBody{RequestBody: body}
	} else {
		req.Request = &extprocsvc.ProcessingRequest_ResponseBody{ResponseBody: body}
	}
	resp, err := f.call(ctx, req)
	if err != nil {
		if r := f.fail(err); r != nil {
			return nil, r, false
		}
		return chunk, nil, true
	}
	if ir := resp.GetImmediateResponse(); ir != nil {
		if r := f.immediate(ir); r != nil {
			return nil, r, false
		}
		return chunk, nil, true
	}
	// A body answer of the right kind without a CommonResponse means
	// CONTINUE: every field of it is optional, and Envoy's filter applies
	// mutations only if (response.has_response()) (ext_proc.cc). Only an
	// answer of the wrong kind is spurious.
	var cr *extprocsvc.CommonResponse
	ok := false
	switch v := resp.GetResponse().(type) {
	case *extprocsvc.ProcessingResponse_RequestBody:
		if request {
			cr, ok = v.RequestBody.GetResponse(), true
		}
	case *extprocsvc.ProcessingResponse_ResponseBody:
		if !request {
			cr, ok = v.ResponseBody.GetResponse(), true
		}
	}
	if !ok {
		if r := f.fail(errSpurious); r != nil {
			return nil, r, false
		}
		return chunk, nil, true
	}
	if bm := cr.GetBodyMutation(); bm != nil {
		chunk = mutateBody(chunk, bm)
	}
	return chunk, nil, true
}

// streamedBody forwards a body chunk by chunk, each through the processor,
// each answer's chunk passed on as soon as it arrives
// (processing_mode.proto STREAMED: "Stream the body to the server in pieces
// as they are seen").
type streamedBody struct {
	src     io.Reader
	f       *extProcFilter
	ctx     context.Context
	request bool
	pending []byte
	eof     bool
	buf     []byte
}

func (s *streamedBody) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		if s.buf == nil {
			s.buf = make([]byte, 32<<10)
		}
		n, err := s.src.Read(s.buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		eos := errors.Is(err, io.EOF)
		if n == 0 && !eos {
			continue
		}
		ctx := s.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		chunk := append([]byte(nil), s.buf[:n]...)
		out, reply, ok := s.f.streamChunk(ctx, chunk, eos, s.request)
		if !ok {
			if s.request {
				// The router answers with this local reply instead of
				// the upstream's failure.
				s.f.x.abort = reply
			}
			return 0, fmt.Errorf("ext_proc ended the stream with status %d", reply.status)
		}
		s.pending, s.eof = out, eos
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *streamedBody) Close() error {
	if c, ok := s.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// encode is the response phase.
func (f *extProcFilter) encode(ctx context.Context, x *exchange, r *response) *response {
	f.mu.Lock()
	if f.complete {
		f.mu.Unlock()
		return r
	}
	hasBody := r.hasBody()
	if f.mode.GetResponseHeaderMode() != extprocv3.ProcessingMode_SKIP {
		var hm headerMap
		hm.add(":status", strconv.Itoa(r.status))
		hm.kv = append(hm.kv, r.h.kv...)
		resp, err := f.call(ctx, &extprocsvc.ProcessingRequest{Request: &extprocsvc.ProcessingRequest_ResponseHeaders{
			ResponseHeaders: &extprocsvc.HttpHeaders{Headers: toProto(&hm), EndOfStream: !hasBody}}})
		if err != nil {
			f.mu.Unlock()
			return replace(r, f.fail(err))
		}
		if ir := resp.GetImmediateResponse(); ir != nil {
			f.mu.Unlock()
			return replace(r, f.immediate(ir))
		}
		hr, ok := resp.GetResponse().(*extprocsvc.ProcessingResponse_ResponseHeaders)
		if !ok {
			f.mu.Unlock()
			return replace(r, f.fail(errSpurious))
		}
		f.overrideMode(resp)
		protect := hasBody && removesContentLength(f.mode.GetResponseBodyMode(), f.mode.GetResponseHeaderMode()) && !f.c.allowCLHdr
		if _, err := applyExtProcMutation(&hm, hr.ResponseHeaders.GetResponse().GetHeaderMutation(), f.c.checker, protect); err != nil {
			f.mu.Unlock()
			return replace(r, f.fail(&processingError{err.Error()}))
		}
		r.status = statusOf(&hm, r.status)
		hm.del(":status")
		r.h = hm
	}
	if !hasBody {
		f.mu.Unlock()
		return r
	}
	switch f.mode.GetResponseBodyMode() {
	case extprocv3.ProcessingMode_BUFFERED:
		defer f.mu.Unlock()
		data, over, err := readLimited(r.body, x.l.bufferLimit)
		if err != nil {
			return replace(r, localReply(http.StatusBadGateway, ""))
		}
		if over {
			// Response over the buffer limit before headers went out: 500
			// (filter_manager.cc, responseDataTooLarge).
			return replace(r, localReply(http.StatusInternalServerError, ""))
		}
		var hm headerMap
		hm.add(":status", strconv.Itoa(r.status))
		hm.kv = append(hm.kv, r.h.kv...)
		out, reply := f.bufferedBody(ctx, &hm, data, false)
		if reply != nil {
			return replace(r, reply)
		}
		r.status = statusOf(&hm, r.status)
		hm.del(":status")
		r.h = hm
		r.body.Close()
		r.body = io.NopCloser(bytes.NewReader(out))
		return r
	case extprocv3.ProcessingMode_STREAMED:
		f.mu.Unlock()
		if !f.c.allowCLHdr {
			r.h.del("content-length")
		}
		r.body = &streamedBody{src: r.body, f: f, ctx: ctx, request: false}
		return r
	default:
		f.mu.Unlock()
		if removesContentLength(f.mode.GetResponseBodyMode(), f.mode.GetResponseHeaderMode()) && !f.c.allowCLHdr {
			r.h.del("content-length")
		}
		return r
	}
}

func statusOf(hm *headerMap, def int) int {
	if v, err := strconv.Atoi(hm.value(":status")); err == nil && v >= 100 {
		return v
	}
	return def
}

// replace swaps a response for a local reply (or keeps it when the reply is
// nil: failure mode allow).
func replace(r, reply *response) *response {
	if reply == nil {
		return r
	}
	if r.body != nil {
		r.body.Close()
	}
	return reply
}
