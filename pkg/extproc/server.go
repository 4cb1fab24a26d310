package extproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agentguard/agentguard/pkg/engine"
)

// ProfileMetadataKey is the gRPC initial metadata key naming the profile;
// Envoy sets it per listener or route with grpc_initial_metadata.
const ProfileMetadataKey = "x-agentguard-profile"

// LimitsMetadataKey, set to "charged" in the gRPC initial metadata, says an
// ext_authz Check in the same proxy already charged each request's limits
// (the Istio ambient overlay attaches both): the stream only corrects them
// with the real usage.
const LimitsMetadataKey = "x-agentguard-limits"

// MaxMessageBytes bounds one ext_proc message agentguard accepts: a body at
// the largest max_body_bytes a profile may set (64 MiB) plus headers.
const MaxMessageBytes = 80 << 20

// Server implements ExternalProcessor over an engine.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	engine *engine.Engine
	log    *slog.Logger
	// onStreamError counts streams that ended abnormally.
	onStreamError func(kind string)
}

var _ extprocv3.ExternalProcessorServer = (*Server)(nil)

// New returns a Server deciding with e.
func New(e *engine.Engine, log *slog.Logger) *Server {
	return &Server{engine: e, log: log}
}

// Process serves one ext_proc stream: one HTTP request and its response.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) (err error) {
	ctx := stream.Context()
	var x *engine.Exchange
	streamErr := ""
	defer func() {
		if r := recover(); r != nil {
			// A bug must cost one request, not the process. Envoy applies
			// its failure_mode_allow to the aborted stream.
			s.log.Error("panic in ext_proc stream", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			streamErr, err = "panic", status.Error(codes.Internal, "agentguard internal error")
		}
		if x != nil {
			x.Finish(streamErr)
		}
	}()
	for {
		req, rerr := stream.Recv()
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			streamErr = streamEndKind(ctx, rerr)
			return status.FromContextError(ctx.Err()).Err()
		}
		if x == nil {
			x = s.engine.Start(ctx, metaOf(ctx, req))
		}
		resp := s.handle(x, req)
		if req.GetObservabilityMode() || resp == nil {
			continue // Envoy does not wait for answers in observability mode
		}
		if serr := stream.Send(resp); serr != nil {
			streamErr = streamEndKind(ctx, serr)
			return serr
		}
	}
}

// handle answers one message.
func (s *Server) handle(x *engine.Exchange, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch r := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		res := x.RequestHeaders(headersOf(r.RequestHeaders.GetHeaders()), r.RequestHeaders.GetEndOfStream())
		return headersResponse(res, true)
	case *extprocv3.ProcessingRequest_RequestBody:
		res := x.RequestBody(r.RequestBody.GetBody(), r.RequestBody.GetEndOfStream())
		return bodyResponse(res, true)
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return trailersResponse(x.RequestTrailers(), true)
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		res := x.ResponseHeaders(headersOf(r.ResponseHeaders.GetHeaders()), r.ResponseHeaders.GetEndOfStream())
		return headersResponse(res, false)
	case *extprocv3.ProcessingRequest_ResponseBody:
		res := x.ResponseBody(r.ResponseBody.GetBody(), r.ResponseBody.GetEndOfStream())
		return bodyResponse(res, false)
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return trailersResponse(engine.Result{}, false)
	}
	// An unknown message kind from a newer Envoy: answering anything could
	// be wrong, and no answer stalls the stream until Envoy's timeout.
	s.log.Warn("unknown ext_proc message", "type", fmt.Sprintf("%T", req.Request))
	return nil
}

// streamEndKind names how a stream ended abnormally, for the metric.
func streamEndKind(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.Canceled), status.Code(err) == codes.Canceled:
		return "canceled"
	case errors.Is(ctx.Err(), context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded:
		return "deadline"
	}
	return "transport"
}

// metaOf reads what Envoy tells about the exchange besides headers.
func metaOf(ctx context.Context, req *extprocv3.ProcessingRequest) engine.Meta {
	m := engine.Meta{Adapter: "ext_proc"}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ProfileMetadataKey); len(v) > 0 {
			m.Profile = v[0]
		}
		if v := md.Get(LimitsMetadataKey); len(v) > 0 && v[0] == "charged" {
			m.LimitsCharged = true
		}
	}
	attrs := req.GetAttributes()
	if hs := req.GetRequestHeaders(); hs != nil && len(hs.GetAttributes()) > 0 {
		attrs = hs.GetAttributes() // older Envoys put them on the headers message
	}
	for _, st := range attrs {
		f := st.GetFields()
		if v, ok := f["destination.port"]; ok {
			m.DestinationPort = int(v.GetNumberValue())
		}
		if v, ok := f["connection.uri_san_peer_certificate"]; ok && v.GetStringValue() != "" {
			m.PeerURISANs = append(m.PeerURISANs, v.GetStringValue())
		}
	}
	if pc := req.GetProtocolConfig(); pc != nil {
		m.RequestBodyMode = bodyModeOf(pc.GetRequestBodyMode())
	}
	return m
}
