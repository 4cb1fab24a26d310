package extauthz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agentguard/agentguard/pkg/engine"
)

// ProfileExtension is the context_extensions key naming the profile; Envoy
// sets it per route (ExtAuthzPerRoute check_settings.context_extensions).
const ProfileExtension = "profile"

// ProfileMetadataKey is the gRPC initial metadata key naming the profile
// when no context extension does (Envoy's grpc_service.initial_metadata);
// the same key ext_proc reads.
const ProfileMetadataKey = "x-agentguard-profile"

// Server implements Authorization over an engine.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	engine *engine.Engine
	log    *slog.Logger
	// authorize drives the exchange; tests replace it to make the engine
	// fail or wait.
	authorize func(ctx context.Context, x *engine.Exchange, h engine.Header, body []byte, kind engine.AuthzBody) engine.Result
}

var _ authv3.AuthorizationServer = (*Server)(nil)

// New returns a Server deciding with e.
func New(e *engine.Engine, log *slog.Logger) *Server {
	return &Server{engine: e, log: log, authorize: authorize}
}

func authorize(_ context.Context, x *engine.Exchange, h engine.Header, body []byte, kind engine.AuthzBody) engine.Result {
	return x.Authorize(h, body, kind)
}

// Check decides one HTTP request.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (resp *authv3.CheckResponse, err error) {
	hr := req.GetAttributes().GetRequest().GetHttp()
	if hr == nil {
		return nil, status.Error(codes.InvalidArgument, "CheckRequest without attributes.request.http: agentguard serves Envoy's HTTP ext_authz filter only")
	}
	var x *engine.Exchange
	endErr := ""
	defer func() {
		if r := recover(); r != nil {
			// A bug must cost one request, not the process, and must not
			// become a gRPC error that failure_mode_allow would let pass.
			s.log.Error("panic in ext_authz Check", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			endErr, resp, err = "panic", internalDenial(), nil
		}
		if x == nil {
			return
		}
		if endErr == "" && ctx.Err() != nil {
			endErr = endKind(ctx) // Envoy gave up: the answer went nowhere
		}
		x.Finish(endErr)
	}()
	h, body, kind := requestOf(hr)
	x = s.engine.Start(ctx, metaOf(ctx, req.GetAttributes()))
	r := s.authorize(ctx, x, h, body, kind)
	return s.responseOf(x.Profile(), r), nil
}

// metaOf reads what Envoy tells besides the request itself.
func metaOf(ctx context.Context, a *authv3.AttributeContext) engine.Meta {
	m := engine.Meta{Adapter: "ext_authz", Profile: a.GetContextExtensions()[ProfileExtension]}
	if m.Profile == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get(ProfileMetadataKey); len(v) > 0 {
				m.Profile = v[0]
			}
		}
	}
	m.DestinationPort = int(a.GetDestination().GetAddress().GetSocketAddress().GetPortValue())
	// The principal is the peer certificate's URI SAN, or its subject when
	// it has none; only a SPIFFE ID is an identity the peer source reads.
	// Any case of the scheme is passed on, so that "SPIFFE://…" is refused
	// as invalid rather than ignored.
	if p := a.GetSource().GetPrincipal(); len(p) >= len("spiffe://") && strings.EqualFold(p[:len("spiffe://")], "spiffe://") {
		m.PeerURISANs = []string{p}
	}
	return m
}

func endKind(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "deadline"
	}
	return "canceled"
}
