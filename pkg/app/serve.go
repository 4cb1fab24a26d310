package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/extauthz"
	"github.com/agentguard/agentguard/pkg/extproc"
	"github.com/agentguard/agentguard/pkg/telemetry"
)

// server is one running agentguard.
type server struct {
	log     *slog.Logger
	path    string // config file; "" for the embedded default
	engine  *engine.Engine
	metrics *telemetry.Metrics
	health  *health.Server
	ready   atomic.Bool
	// reloadMu serialises reloads: a slow SIGHUP reload must not swap an
	// older config over the one the file watcher just applied.
	reloadMu sync.Mutex
	hash     atomic.Value // string: sha256 prefix of the config served
	// limitsBackend is where limits are counted: fixed at start.
	limitsBackend string
}

func serve(ctx context.Context, args []string, env Env) int {
	fs := newFlags("serve", env)
	path := fs.String("config", "", "config file (default: the embedded default deployment)")
	grpcAddr := fs.String("grpc-addr", ":9000", "ext_proc gRPC address")
	metricsAddr := fs.String("metrics-addr", ":15020", "Prometheus /metrics address")
	healthAddr := fs.String("health-addr", ":15021", "/healthz/ready address")
	adminAddr := fs.String("admin-addr", "127.0.0.1:15000", "admin address (keep it on loopback)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	drain := fs.Duration("drain-timeout", 20*time.Second, "how long open streams may finish after SIGTERM")
	if fs.Parse(args) != nil {
		return 2
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: parseLevel(*logLevel)}))

	rt, hash, err := loadRuntime(*path)
	if err != nil {
		log.Error("config rejected", "err", err)
		return 1
	}
	audit, closeAudit, err := openAudit(rt.File.Audit.Output, env.Stdout)
	if err != nil {
		log.Error("audit output", "err", err)
		return 1
	}
	defer closeAudit()

	s := &server{log: log, path: *path, metrics: telemetry.NewMetrics(), health: health.NewServer()}
	store, closeStore, err := newLimitStore(rt.File.Limits, log, s.metrics)
	if err != nil {
		log.Error("limits backend", "err", err)
		return 1
	}
	defer closeStore()
	s.limitsBackend = rt.File.Limits.Backend
	s.engine = engine.New(rt, engine.Options{Log: log, Metrics: s.metrics, Audit: audit, Limits: store})
	s.applied(rt, hash)
	s.warnCredentials(rt)

	lis, err := listenAll(map[string]string{"grpc": *grpcAddr, "metrics": *metricsAddr, "health": *healthAddr, "admin": *adminAddr})
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(extproc.MaxMessageBytes))
	extprocv3.RegisterExternalProcessorServer(gs, extproc.New(s.engine, log))
	// ext_authz on the same port and the same engine: the way an Istio
	// waypoint attaches (AuthorizationPolicy CUSTOM).
	authv3.RegisterAuthorizationServer(gs, extauthz.New(s.engine, log))
	healthpb.RegisterHealthServer(gs, s.health)
	reflection.Register(gs)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(extprocv3.ExternalProcessor_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(authv3.Authorization_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	https := []*http.Server{
		{Handler: s.metricsMux(), ReadHeaderTimeout: 5 * time.Second},
		{Handler: s.healthMux(), ReadHeaderTimeout: 5 * time.Second},
		{Handler: s.adminMux(), ReadHeaderTimeout: 5 * time.Second},
	}
	errc := make(chan error, 4)
	go func() { errc <- gs.Serve(lis["grpc"]) }()
	for i, name := range []string{"metrics", "health", "admin"} {
		go func() { errc <- https[i].Serve(lis[name]) }()
	}
	s.ready.Store(true)
	log.Info("agentguard serving", "config", rt.Source, "sha256", hash, "profiles", rt.Profiles(),
		"grpc", lis["grpc"].Addr().String(), "metrics", lis["metrics"].Addr().String(),
		"health", lis["health"].Addr().String(), "admin", lis["admin"].Addr().String())

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if *path != "" {
		go func() {
			if err := config.Watch(wctx, *path, log, func() { s.reload("file changed") }); err != nil {
				log.Warn("config file watch unavailable; SIGHUP still reloads", "err", err)
			}
		}()
	}
	code := 0
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-env.Reload:
			s.reload("SIGHUP")
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
				log.Error("server failed", "err", err)
				code = 1
				done = true
			}
		}
	}
	s.shutdown(gs, https, *drain)
	return code
}

// shutdown stops accepting, lets open streams finish within drain, then
// cuts the rest.
func (s *server) shutdown(gs *grpc.Server, https []*http.Server, drain time.Duration) {
	s.log.Info("shutting down", "drain_timeout", drain.String())
	s.ready.Store(false)
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
		s.log.Warn("drain timeout: closing open streams")
		gs.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, h := range https {
		_ = h.Shutdown(ctx)
	}
	s.log.Info("stopped")
}

// reload loads the config again; an invalid one is rejected and the last
// good one keeps serving.
func (s *server) reload(why string) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.path == "" {
		s.log.Info("nothing to reload: serving the embedded default deployment", "trigger", why)
		return
	}
	rt, hash, err := loadRuntime(s.path)
	if err != nil {
		s.metrics.Reloads.WithLabelValues("rejected").Inc()
		s.log.Error("config rejected; the last good config keeps serving", "trigger", why, "err", err)
		return
	}
	old := s.engine.Runtime()
	if old.File.Audit.Output != rt.File.Audit.Output {
		s.log.Warn("audit.output changed; it takes effect on restart", "serving", old.File.Audit.Output)
	}
	if !sameLimitsBackend(old.File.Limits, rt.File.Limits) {
		// Limit state lives in the store built at start; the profiles'
		// limits themselves take effect now.
		s.log.Warn("limits backend changed; it takes effect on restart", "serving", old.File.Limits.Backend)
	}
	s.engine.Swap(rt)
	s.applied(rt, hash)
	s.warnCredentials(rt)
	s.log.Info("config applied", "trigger", why, "sha256", hash, "profiles", rt.Profiles())
}

func (s *server) applied(rt *engine.Runtime, hash string) {
	s.metrics.Reloads.WithLabelValues("applied").Inc()
	s.metrics.ConfigInfo.Reset()
	s.metrics.ConfigInfo.WithLabelValues(rt.Source, hash).Set(1)
	s.hash.Store(hash)
}

func listenAll(addrs map[string]string) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for name, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("%s %s: %w", name, addr, err)
		}
		out[name] = l
	}
	return out, nil
}

// openAudit opens the audit destination named in the config.
func openAudit(output string, stdout io.Writer) (*telemetry.Auditor, func(), error) {
	switch output {
	case "off":
		return nil, func() {}, nil
	case "stdout", "":
		return telemetry.NewAuditor(stdout), func() {}, nil
	case "stderr":
		return telemetry.NewAuditor(os.Stderr), func() {}, nil
	}
	f, err := os.OpenFile(output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return telemetry.NewAuditor(f), func() { f.Close() }, nil
}

func (s *server) warnCredentials(rt *engine.Runtime) {
	for _, w := range rt.CredentialWarnings() {
		s.log.Warn("credential unavailable; requests that need it fail closed until it is", "detail", w)
	}
}
