package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *server) metricsMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	return mux
}

func (s *server) healthMux() http.Handler {
	mux := http.NewServeMux()
	// Ready once a valid config is loaded, until shutdown starts.
	mux.HandleFunc("GET /healthz/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /healthz/live", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "alive")
	})
	return mux
}

// adminMux serves operators on loopback. Its output is built from the
// config's own types, which hold no credentials; header values and bodies
// of requests never reach it.
func (s *server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "agentguard admin\n  /config_dump    the config being served (JSON)\n  /limits         usage and what remains of each rate limit and budget (JSON)\n  /ready          readiness\n  /debug/pprof/   Go profiles")
	})
	// Profiles show code paths and timings, never request data; the admin
	// listener is loopback by default.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, s.ready.Load())
	})
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, _ *http.Request) {
		rt := s.engine.Runtime()
		w.Header().Set("content-type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{
			"source": rt.Source,
			"sha256": s.hash.Load(),
			"loaded": rt.Loaded.UTC().Format(time.RFC3339),
			"config": rt.File,
		})
	})
	// Buckets are named by profile, limit and key; a key a client controls
	// (a header) is shown only as its hash, as it is stored.
	mux.HandleFunc("GET /limits", func(w http.ResponseWriter, r *http.Request) {
		us, err := s.engine.Limits(r.Context())
		if err != nil {
			s.log.Warn("admin /limits", "err", err)
			http.Error(w, "limit store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("content-type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"backend": s.limitsBackend, "buckets": us})
	})
	return mux
}
