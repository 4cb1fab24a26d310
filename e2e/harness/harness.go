package harness

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// Options adapt a bootstrap to a test.
type Options struct {
	// Listen maps a listener's configured port to the address to listen on
	// (tests use "127.0.0.1:0"); nil or missing: the configured address.
	Listen map[uint32]string
	// Clusters overrides a cluster's endpoint address ("127.0.0.1:18083"):
	// tests point clusters at servers they start. Clusters not overridden
	// use the config's first endpoint.
	Clusters map[string]string
	// Log receives debug logs; nil discards them.
	Log *slog.Logger
}

// Harness serves a bootstrap's listeners until Close or the end of the
// context given to Start.
type Harness struct {
	log      *slog.Logger
	clusters map[string]*cluster
	// envoyPrefix is Bootstrap.header_prefix, "x-envoy" by default
	// (bootstrap.proto, header_prefix).
	envoyPrefix string

	listeners map[uint32]*listener

	grpcMu    sync.Mutex
	grpcConns map[string]*grpc.ClientConn

	closeOnce sync.Once
	closeErr  error
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

type cluster struct {
	name      string
	addr      string
	h2        bool
	tls       *tls.Config
	transport *http.Transport
}

const (
	// Envoy's default per_connection_buffer_limit_bytes: 1 MiB
	// (listener.proto and cluster.proto, per_connection_buffer_limit_bytes).
	defaultBufferLimit = 1 << 20
	// Default connect_timeout, 5 s (cluster.proto, connect_timeout).
	defaultConnectTimeout = 5 * time.Second
)

// Start builds every listener and cluster of b and starts serving. Config
// the harness cannot apply with Envoy's semantics is an error.
func Start(ctx context.Context, b *bootstrapv3.Bootstrap, o Options) (*Harness, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Harness{
		log:         log,
		clusters:    map[string]*cluster{},
		envoyPrefix: "x-envoy",
		listeners:   map[uint32]*listener{},
		grpcConns:   map[string]*grpc.ClientConn{},
	}
	if p := b.GetHeaderPrefix(); p != "" {
		h.envoyPrefix = p
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		cl, err := newCluster(c, o.Clusters[c.GetName()])
		if err != nil {
			return nil, fmt.Errorf("harness: cluster %q: %w", c.GetName(), err)
		}
		h.clusters[c.GetName()] = cl
	}
	for name := range o.Clusters {
		if h.clusters[name] == nil {
			return nil, fmt.Errorf("harness: Options.Clusters names %q, which the bootstrap does not define", name)
		}
	}
	for _, lc := range b.GetStaticResources().GetListeners() {
		l, err := h.newListener(lc)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("harness: listener %q: %w", lc.GetName(), err)
		}
		addr := net.JoinHostPort(lc.GetAddress().GetSocketAddress().GetAddress(), strconv.Itoa(int(l.port)))
		if a, ok := o.Listen[l.port]; ok {
			addr = a
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("harness: listener %q: %w", lc.GetName(), err)
		}
		l.ln = ln
		h.listeners[l.port] = l
	}
	sctx, stop := context.WithCancel(ctx)
	h.stop = stop
	for _, l := range h.listeners {
		var protos http.Protocols
		// HttpConnectionManager codec_type AUTO: HTTP/1.1 or HTTP/2 by
		// prior knowledge on a plaintext connection (http_connection_manager.proto).
		protos.SetHTTP1(true)
		protos.SetUnencryptedHTTP2(true)
		l.srv = &http.Server{
			Handler:           l,
			Protocols:         &protos,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return sctx },
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
		h.wg.Add(1)
		go func(l *listener) {
			defer h.wg.Done()
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Debug("harness: serve", "listener", l.name, "err", err)
			}
		}(l)
		log.Debug("harness: listening", "listener", l.name, "port", l.port, "addr", l.ln.Addr().String())
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		<-sctx.Done()
		h.shutdown()
	}()
	return h, nil
}

// Addr is the actual listen address of the listener configured on port;
// "" if there is none.
func (h *Harness) Addr(port uint32) string {
	if l := h.listeners[port]; l != nil && l.ln != nil {
		return l.ln.Addr().String()
	}
	return ""
}

// Close stops the listeners, ends in-flight exchanges and closes the gRPC
// connections. It is also called when Start's context ends.
func (h *Harness) Close() error {
	if h.stop != nil {
		h.stop()
	}
	h.shutdown()
	h.wg.Wait()
	return h.closeErr
}

func (h *Harness) shutdown() {
	h.closeOnce.Do(func() {
		var errs []error
		for _, l := range h.listeners {
			if l.srv != nil {
				errs = append(errs, l.srv.Close())
			} else if l.ln != nil {
				errs = append(errs, l.ln.Close())
			}
		}
		h.grpcMu.Lock()
		for _, c := range h.grpcConns {
			errs = append(errs, c.Close())
		}
		h.grpcConns = map[string]*grpc.ClientConn{}
		h.grpcMu.Unlock()
		for _, c := range h.clusters {
			c.transport.CloseIdleConnections()
		}
		h.closeErr = errors.Join(errs...)
	})
}

// grpcConn is the gRPC client for a cluster: one per cluster, HTTP/2 over
// plaintext (h2c) to its endpoint, as Envoy's envoy_grpc client uses the
// cluster's connection pool (grpc_service.proto, EnvoyGrpc.cluster_name).
func (h *Harness) grpcConn(name string) (*grpc.ClientConn, error) {
	h.grpcMu.Lock()
	defer h.grpcMu.Unlock()
	if c := h.grpcConns[name]; c != nil {
		return c, nil
	}
	cl := h.clusters[name]
	if cl == nil {
		return nil, fmt.Errorf("no cluster %q", name)
	}
	c, err := grpc.NewClient("passthrough:///"+cl.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	h.grpcConns[name] = c
	return c, nil
}

func newCluster(c *clusterv3.Cluster, override string) (*cluster, error) {
	cl := &cluster{name: c.GetName(), addr: override}
	if cl.addr == "" {
		eps := c.GetLoadAssignment().GetEndpoints()
		if len(eps) == 0 || len(eps[0].GetLbEndpoints()) == 0 {
			return nil, errors.New("no endpoint (load_assignment) and no Options.Clusters override")
		}
		sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		cl.addr = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
	}
	// HTTP/2 to the upstream when the cluster says so: HttpProtocolOptions
	// explicit_http_config.http2_protocol_options in
	// typed_extension_protocol_options (upstreams/http/v3/http_protocol_options.proto),
	// or the deprecated cluster-level http2_protocol_options.
	if c.GetHttp2ProtocolOptions() != nil { //nolint:staticcheck // deprecated field still honoured by Envoy
		cl.h2 = true
	}
	if a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
		var po httpv3.HttpProtocolOptions
		if err := a.UnmarshalTo(&po); err != nil {
			return nil, err
		}
		if po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
			cl.h2 = true
		}
		if po.GetUseDownstreamProtocolConfig() != nil || po.GetAutoConfig() != nil {
			return nil, errors.New("only explicit_http_config is implemented in HttpProtocolOptions")
		}
	}
	// Upstream TLS (tls.proto, UpstreamTlsContext): SNI, and verification
	// against the system roots. Overridden clusters are plaintext test
	// servers.
	if ts := c.GetTransportSocket(); ts != nil && override == "" {
		var up tlsv3.UpstreamTlsContext
		if err := ts.GetTypedConfig().UnmarshalTo(&up); err != nil {
			return nil, fmt.Errorf("transport_socket: %w", err)
		}
		cl.tls = &tls.Config{ServerName: up.GetSni(), MinVersion: tls.VersionTLS12}
	}
	timeout := defaultConnectTimeout
	if d := c.GetConnectTimeout(); d != nil {
		timeout = d.AsDuration()
	}
	var protos http.Protocols
	if cl.h2 {
		if cl.tls != nil {
			protos.SetHTTP2(true)
		} else {
			protos.SetUnencryptedHTTP2(true)
		}
	} else {
		protos.SetHTTP1(true)
	}
	cl.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		TLSClientConfig:     cl.tls,
		Protocols:           &protos,
		DisableCompression:  true, // a proxy forwards bytes as they are
		MaxIdleConnsPerHost: 64,
	}
	return cl, nil
}

func (h *Harness) newListener(lc *listenerv3.Listener) (*listener, error) {
	l := &listener{
		h:           h,
		name:        lc.GetName(),
		port:        lc.GetAddress().GetSocketAddress().GetPortValue(),
		bufferLimit: defaultBufferLimit,
	}
	if v := lc.GetPerConnectionBufferLimitBytes(); v != nil {
		l.bufferLimit = int64(v.GetValue())
	}
	chains := lc.GetFilterChains()
	if len(chains) != 1 || len(chains[0].GetFilters()) != 1 {
		return nil, errors.New("exactly one filter chain with one network filter (the HttpConnectionManager) is implemented")
	}
	if chains[0].GetTransportSocket() != nil {
		return nil, errors.New("downstream TLS is not implemented; use the x-harness-peer-san test hook")
	}
	var hcm hcmv3.HttpConnectionManager
	if err := chains[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		return nil, fmt.Errorf("network filter: %w", err)
	}
	l.hcm = &hcm
	mappers, err := newLocalReplyMappers(hcm.GetLocalReplyConfig())
	if err != nil {
		return nil, err
	}
	l.replyMappers = mappers
	rc := hcm.GetRouteConfig()
	if rc == nil {
		return nil, errors.New("only an inline route_config is implemented (no RDS)")
	}
	rt, err := newRouteTable(rc, h.clusters)
	if err != nil {
		return nil, err
	}
	l.routes = rt
	hf := hcm.GetHttpFilters()
	if len(hf) == 0 {
		return nil, errors.New("no http_filters")
	}
	for i, f := range hf {
		last := i == len(hf)-1
		tc := f.GetTypedConfig()
		if tc == nil {
			return nil, fmt.Errorf("http_filters[%d] %q: no typed_config", i, f.GetName())
		}
		m, err := tc.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("http_filters[%d] %q: %w", i, f.GetName(), err)
		}
		switch c := m.(type) {
		case *routerv3.Router:
			// The router must be the last filter (router docs).
			if !last {
				return nil, fmt.Errorf("http_filters[%d]: the router must be the last filter", i)
			}
		case *extprocv3.ExternalProcessor:
			fc, err := newExtProcConfig(f.GetName(), c, h)
			if err != nil {
				return nil, fmt.Errorf("http_filters[%d] %q: %w", i, f.GetName(), err)
			}
			l.filters = append(l.filters, fc)
		case *extauthzv3.ExtAuthz:
			fc, err := newExtAuthzConfig(f.GetName(), c, h)
			if err != nil {
				return nil, fmt.Errorf("http_filters[%d] %q: %w", i, f.GetName(), err)
			}
			l.filters = append(l.filters, fc)
		default:
			return nil, fmt.Errorf("http_filters[%d] %q: %s is not implemented", i, f.GetName(), proto.MessageName(m))
		}
		if last {
			if _, ok := m.(*routerv3.Router); !ok {
				return nil, errors.New("the last http filter must be envoy.filters.http.router")
			}
		}
	}
	return l, nil
}
