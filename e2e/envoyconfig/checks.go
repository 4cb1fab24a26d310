package envoyconfig

import (
	"fmt"
	"sort"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

const (
	// ProfileMetadata is the gRPC initial metadata key naming the profile.
	ProfileMetadata = "x-agentguard-profile"
	// ProfileContextExtension is the ext_authz context_extensions key.
	ProfileContextExtension = "profile"

	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
	// Envoy's default per_connection_buffer_limit_bytes.
	defaultBufferLimit = 1 << 20
)

// Attributes agentguard reads from ProcessingRequest.attributes: the port for
// profile matching, the peer URI SAN for the "peer" identity source.
var requiredAttributes = []string{"destination.port", "connection.uri_san_peer_certificate"}

// crossCheck does what the schema cannot: references between resources,
// Envoy's own load-time checks, and agentguard's contract.
func (v *validator) crossCheck(b *bootstrapv3.Bootstrap, o Options) {
	sr := b.GetStaticResources()
	clusters := map[string]*clusterv3.Cluster{}
	for i, c := range sr.GetClusters() {
		p := fmt.Sprintf("static_resources.clusters[%d]", i)
		if _, dup := clusters[c.GetName()]; dup {
			v.addf(p+".name", "duplicate cluster name %q (Envoy refuses to load)", c.GetName())
		}
		clusters[c.GetName()] = c
		v.checkUpstreamTLS(p, c)
	}
	for _, name := range o.RouteClusters {
		if clusters[name] == nil {
			v.addf("static_resources.clusters", "no cluster %q, which agentguard sets in its route header (mcp.servers[].cluster); Envoy would answer 404", name)
		}
	}

	names := map[string]bool{}
	addrs := map[string]bool{}
	ports := map[uint32]bool{}
	for i, l := range sr.GetListeners() {
		p := fmt.Sprintf("static_resources.listeners[%d]", i)
		if names[l.GetName()] {
			v.addf(p+".name", "duplicate listener name %q (Envoy refuses to load)", l.GetName())
		}
		names[l.GetName()] = true
		sa := l.GetAddress().GetSocketAddress()
		port := sa.GetPortValue()
		addr := fmt.Sprintf("%s:%d", sa.GetAddress(), port)
		if addrs[addr] {
			v.addf(p+".address", "two listeners bind %s", addr)
		}
		addrs[addr] = true
		ports[port] = true

		profiles := v.checkListener(p, l, clusters, o)
		if len(o.ExpectPorts) == 0 {
			continue
		}
		want, ok := o.ExpectPorts[port]
		if !ok {
			v.addf(p+".address", "listener on port %d, which is not one of agentguard's documented ports %s", port, portList(o.ExpectPorts))
			continue
		}
		for _, got := range profiles {
			if got != want {
				v.addf(p, "port %d is documented as profile %q, but the listener names profile %q", port, want, got)
			}
		}
	}
	for _, port := range sortedPorts(o.ExpectPorts) {
		if !ports[port] {
			v.addf("static_resources.listeners", "no listener on port %d (profile %q)", port, o.ExpectPorts[port])
		}
	}
}

// checkListener checks every HTTP connection manager of l and returns the
// profiles its routes name.
func (v *validator) checkListener(path string, l *listenerv3.Listener, clusters map[string]*clusterv3.Cluster, o Options) []string {
	limit := uint64(defaultBufferLimit)
	if w := l.GetPerConnectionBufferLimitBytes(); w != nil {
		limit = uint64(w.GetValue())
	}
	var profiles []string
	found := false
	for i, fc := range l.GetFilterChains() {
		for j, f := range fc.GetFilters() {
			hcm, ok := unpack(f.GetTypedConfig()).(*hcmv3.HttpConnectionManager)
			if !ok {
				continue
			}
			found = true
			fp := fmt.Sprintf("%s.filter_chains[%d].filters[%d]<HttpConnectionManager>", path, i, j)
			h := hcmCheck{v: v, path: fp, hcm: hcm, clusters: clusters, o: o, bufferLimit: limit}
			for _, p := range h.run() {
				profiles = appendNew(profiles, p)
			}
		}
	}
	if !found {
		v.addf(path, "no http_connection_manager: agentguard would never see this listener's requests")
	}
	return profiles
}

// guard is one agentguard filter (ext_proc or ext_authz) in an HTTP filter chain.
type guard struct {
	name  string
	path  string
	proc  *extprocv3.ExternalProcessor
	authz *extauthzv3.ExtAuthz
	// profiles named by the routes, for the checks that depend on them
	profiles []string
}

type hcmCheck struct {
	v           *validator
	path        string
	hcm         *hcmv3.HttpConnectionManager
	clusters    map[string]*clusterv3.Cluster
	o           Options
	bufferLimit uint64 // the listener's per_connection_buffer_limit_bytes
}

func (h *hcmCheck) run() []string {
	v := h.v
	// agentguard denies requests whose path is not normalized (rules match
	// paths as text), so Envoy must normalize them before asking.
	if !h.hcm.GetNormalizePath().GetValue() || !h.hcm.GetMergeSlashes() {
		v.addf(h.path, "normalize_path and merge_slashes must be true: agentguard refuses paths that are not normalized")
	}
	if a := h.hcm.GetPathWithEscapedSlashesAction(); a != hcmv3.HttpConnectionManager_REJECT_REQUEST && a != hcmv3.HttpConnectionManager_UNESCAPE_AND_REDIRECT {
		v.addf(h.path, "path_with_escaped_slashes_action must be REJECT_REQUEST or UNESCAPE_AND_REDIRECT, not %s", a)
	}
	filters := h.hcm.GetHttpFilters()
	filterNames := map[string]bool{}
	var guards []*guard
	for i, f := range filters {
		fp := fmt.Sprintf("%s.http_filters[%d]", h.path, i)
		filterNames[f.GetName()] = true
		cfg := unpack(f.GetTypedConfig())
		if isRouter(f) && i != len(filters)-1 {
			v.addf(fp, "the router is a terminal filter and must be the last HTTP filter (Envoy refuses to load)")
		}
		switch c := cfg.(type) {
		case *extprocv3.ExternalProcessor:
			guards = append(guards, &guard{name: f.GetName(), path: fp + "<ExternalProcessor>", proc: c})
		case *extauthzv3.ExtAuthz:
			guards = append(guards, &guard{name: f.GetName(), path: fp + "<ExtAuthz>", authz: c})
		default:
			continue
		}
		if f.GetDisabled() {
			v.addf(fp+".disabled", "the agentguard filter is disabled: requests pass without a decision")
		}
	}
	if len(filters) == 0 || !isRouter(filters[len(filters)-1]) {
		v.addf(h.path+".http_filters", "the last HTTP filter must be envoy.filters.http.router")
	}
	if len(guards) == 0 {
		v.addf(h.path+".http_filters", "no ext_proc or ext_authz filter: requests pass without agentguard")
	}

	rc := h.hcm.GetRouteConfig()
	if rc == nil {
		v.addf(h.path, "route_config must be inline (RDS cannot be checked offline)")
		return nil
	}
	clusterHeader := false
	var all []string
	for i, vh := range rc.GetVirtualHosts() {
		vp := fmt.Sprintf("%s.route_config.virtual_hosts[%d]", h.path, i)
		h.checkPerFilterKeys(vp, vh.GetTypedPerFilterConfig(), filterNames)
		for j, r := range vh.GetRoutes() {
			rp := fmt.Sprintf("%s.routes[%d]", vp, j)
			h.checkPerFilterKeys(rp, r.GetTypedPerFilterConfig(), filterNames)
			if h.checkRouteAction(rp, r) {
				clusterHeader = true
			}
			limit, how := h.bodyLimit(vh, r)
			for _, g := range guards {
				profile := h.routeProfile(vp, rp, g, vh, r)
				g.profiles = appendNew(g.profiles, profile)
				all = appendNew(all, profile)
				h.checkProfile(rp, profile)
				h.checkBodyLimit(rp, g, profile, limit, how)
			}
		}
	}
	for _, g := range guards {
		if g.proc != nil {
			h.checkExtProc(g, clusterHeader)
		} else {
			h.checkExtAuthz(g, clusterHeader)
		}
	}
	var named []string
	for _, p := range all {
		if p != "" {
			named = append(named, p)
		}
	}
	return named
}

func isRouter(f *hcmv3.HttpFilter) bool {
	return f.GetTypedConfig().GetTypeUrl() == "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
}

// checkPerFilterKeys: a typed_per_filter_config entry whose key names no
// filter in the chain configures nothing; for agentguard that would silently
// drop a route's profile.
func (h *hcmCheck) checkPerFilterKeys(path string, m map[string]*anypb.Any, filters map[string]bool) {
	for _, k := range sortedKeys(m) {
		if !filters[k] {
			h.v.addf(fmt.Sprintf("%s.typed_per_filter_config[%q]", path, k), "names no HTTP filter of this connection manager; it would configure nothing")
		}
	}
}

// checkRouteAction checks the clusters a route sends to exist (Envoy refuses
// a static route table naming an unknown cluster). It reports whether the
// route picks its cluster from a header.
func (h *hcmCheck) checkRouteAction(path string, r *routev3.Route) bool {
	a := r.GetRoute()
	if a == nil {
		return false
	}
	switch s := a.GetClusterSpecifier().(type) {
	case *routev3.RouteAction_Cluster:
		h.clusterExists(path+".route.cluster", s.Cluster)
	case *routev3.RouteAction_ClusterHeader:
		if len(h.o.RouteHeaders) > 0 && !contains(h.o.RouteHeaders, strings.ToLower(s.ClusterHeader)) {
			h.v.addf(path+".route.cluster_header", "%q is not a header agentguard sets (mcp.route_header: %s); a client could choose the cluster", s.ClusterHeader, strings.Join(h.o.RouteHeaders, ", "))
		}
		return true
	case *routev3.RouteAction_WeightedClusters:
		for i, c := range s.WeightedClusters.GetClusters() {
			if c.GetName() != "" {
				h.clusterExists(fmt.Sprintf("%s.route.weighted_clusters.clusters[%d]", path, i), c.GetName())
			}
		}
	}
	return false
}

func (h *hcmCheck) clusterExists(path, name string) {
	if h.clusters[name] == nil {
		h.v.addf(path, "no cluster named %q", name)
	}
}

// routeProfile is the profile guard g tells agentguard for route r: the
// ext_proc initial metadata (a per-route override wins), or the ext_authz
// context extension (route over virtual host).
func (h *hcmCheck) routeProfile(vpath, path string, g *guard, vh *routev3.VirtualHost, r *routev3.Route) string {
	v := h.v
	if g.proc != nil {
		profile := metadataProfile(g.path+".grpc_service.initial_metadata", v, g.proc.GetGrpcService().GetInitialMetadata())
		for _, pc := range []struct {
			path string
			m    map[string]*anypb.Any
		}{{path + ".typed_per_filter_config", r.GetTypedPerFilterConfig()}, {vpath + ".typed_per_filter_config", vh.GetTypedPerFilterConfig()}} {
			per, ok := unpack(pc.m[g.name]).(*extprocv3.ExtProcPerRoute)
			if !ok {
				continue
			}
			if per.GetDisabled() {
				v.addf(fmt.Sprintf("%s[%q]", pc.path, g.name), "ext_proc is disabled for this route: requests pass without agentguard")
			}
			if md := per.GetOverrides().GetGrpcInitialMetadata(); len(md) > 0 {
				if p := metadataProfile(fmt.Sprintf("%s[%q].overrides.grpc_initial_metadata", pc.path, g.name), v, md); p != "" {
					return p
				}
			}
			break // the most specific per-route config applies
		}
		return profile
	}
	profile := ""
	for _, m := range []map[string]*anypb.Any{vh.GetTypedPerFilterConfig(), r.GetTypedPerFilterConfig()} {
		per, ok := unpack(m[g.name]).(*extauthzv3.ExtAuthzPerRoute)
		if !ok {
			continue
		}
		if per.GetDisabled() {
			v.addf(path, "ext_authz is disabled for this route: requests pass without agentguard")
		}
		if p, ok := per.GetCheckSettings().GetContextExtensions()[ProfileContextExtension]; ok {
			profile = p
		}
	}
	return profile
}

func metadataProfile(path string, v *validator, md []*corev3.HeaderValue) string {
	profile, n := "", 0
	for _, hv := range md {
		if strings.EqualFold(hv.GetKey(), ProfileMetadata) {
			profile = hv.GetValue()
			n++
		}
	}
	if n > 1 {
		v.addf(path, "%s is set %d times", ProfileMetadata, n)
	}
	return profile
}

func (h *hcmCheck) checkProfile(path, profile string) {
	if profile == "" {
		h.v.addf(path, "the route names no agentguard profile (%s metadata or ext_authz context_extensions %q); agentguard would fall back to port matching", ProfileMetadata, ProfileContextExtension)
		return
	}
	if len(h.o.Profiles) > 0 && !contains(h.o.Profiles, profile) {
		h.v.addf(path, "profile %q does not exist in agentguard's config (profiles: %s)", profile, strings.Join(h.o.Profiles, ", "))
	}
}

// bodyLimit is the most request body Envoy buffers on route r, following
// Envoy's precedence: request_body_buffer_limit (route, then virtual host),
// else min(per_request_buffer_limit_bytes, connection limit), else the
// listener's per_connection_buffer_limit_bytes.
func (h *hcmCheck) bodyLimit(vh *routev3.VirtualHost, r *routev3.Route) (uint64, string) {
	if w := r.GetRequestBodyBufferLimit(); w != nil {
		return w.GetValue(), "route request_body_buffer_limit"
	}
	if w := vh.GetRequestBodyBufferLimit(); w != nil {
		return w.GetValue(), "virtual host request_body_buffer_limit"
	}
	// Deprecated in the API, still honoured by Envoy.
	per := r.GetPerRequestBufferLimitBytes()
	if per == nil {
		per = vh.GetPerRequestBufferLimitBytes()
	}
	if per != nil && uint64(per.GetValue()) < h.bufferLimit {
		return uint64(per.GetValue()), "per_request_buffer_limit_bytes"
	}
	return h.bufferLimit, "listener per_connection_buffer_limit_bytes"
}

func (h *hcmCheck) checkBodyLimit(path string, g *guard, profile string, limit uint64, how string) {
	want, ok := h.o.MaxBodyBytes[profile]
	if !ok || want <= 0 {
		return
	}
	if uint64(want) > limit {
		h.v.addf(path, "Envoy buffers at most %d bytes of a request body here (%s) but profile %q accepts %d (max_body_bytes): Envoy would answer 413 to bodies agentguard allows", limit, how, profile, want)
	}
	if g.authz != nil {
		if wb := g.authz.GetWithRequestBody(); wb != nil && uint64(wb.GetMaxRequestBytes()) < uint64(want) {
			h.v.addf(g.path+".with_request_body.max_request_bytes", "%d is below profile %q max_body_bytes %d: Envoy would answer 413 to bodies agentguard allows", wb.GetMaxRequestBytes(), profile, want)
		}
	}
}

func (h *hcmCheck) checkExtProc(g *guard, clusterHeader bool) {
	v, p, c := h.v, g.path, g.proc
	pm := c.GetProcessingMode()

	// Envoy's own load-time checks (ext_proc filter factory).
	if (c.GetGrpcService() == nil) == (c.GetHttpService() == nil) {
		v.addf(p, "exactly one of grpc_service or http_service must be set")
	}
	if c.GetHttpService() != nil && (pm.GetRequestBodyMode() != extprocv3.ProcessingMode_NONE ||
		pm.GetResponseBodyMode() != extprocv3.ProcessingMode_NONE ||
		pm.GetRequestTrailerMode() == extprocv3.ProcessingMode_SEND ||
		pm.GetResponseTrailerMode() == extprocv3.ProcessingMode_SEND) {
		v.addf(p+".processing_mode", "with http_service no body or trailers can be sent")
	}
	fullDuplex := false
	if pm.GetRequestBodyMode() == extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
		fullDuplex = true
		if pm.GetRequestTrailerMode() != extprocv3.ProcessingMode_SEND {
			v.addf(p+".processing_mode", "request_body_mode FULL_DUPLEX_STREAMED requires request_trailer_mode SEND")
		}
	}
	if pm.GetResponseBodyMode() == extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
		fullDuplex = true
		if pm.GetResponseTrailerMode() != extprocv3.ProcessingMode_SEND {
			v.addf(p+".processing_mode", "response_body_mode FULL_DUPLEX_STREAMED requires response_trailer_mode SEND")
		}
	}
	if fullDuplex && c.GetFailureModeAllow() {
		v.addf(p+".failure_mode_allow", "FULL_DUPLEX_STREAMED body mode requires failure_mode_allow false")
	}
	if c.GetDisableClearRouteCache() && c.GetRouteCacheAction() != extprocv3.ExternalProcessor_DEFAULT {
		v.addf(p, "disable_clear_route_cache and route_cache_action cannot both be set")
	}

	// agentguard's contract.
	if c.GetFailureModeAllow() && !fullDuplex {
		v.addf(p+".failure_mode_allow", "must be false: when agentguard fails, requests must not pass unchecked")
	}
	if c.GetObservabilityMode() {
		v.addf(p+".observability_mode", "must be false: Envoy would ignore agentguard's answers")
	}
	if m := pm.GetRequestHeaderMode(); m == extprocv3.ProcessingMode_SKIP {
		v.addf(p+".processing_mode.request_header_mode", "must be SEND: agentguard selects, identifies and routes at request headers")
	}
	if m := pm.GetRequestBodyMode(); m != extprocv3.ProcessingMode_BUFFERED {
		v.addf(p+".processing_mode.request_body_mode", "must be BUFFERED, not %s: agentguard decides on the whole body, and Envoy answers 413 above its buffer limit", m)
	}
	h.checkTimeout(p+".message_timeout", c.GetMessageTimeout().AsDuration(), c.GetMessageTimeout() != nil, "message_timeout")
	for _, attr := range requiredAttributes {
		if !contains(c.GetRequestAttributes(), attr) {
			v.addf(p+".request_attributes", "must include %s (agentguard reads it)", attr)
		}
	}
	needOverride := false
	for _, prof := range g.profiles {
		if contains(h.o.ModeOverrideProfiles, prof) {
			needOverride = true
		}
	}
	if needOverride {
		if !c.GetAllowModeOverride() {
			v.addf(p+".allow_mode_override", "must be true for profile(s) %s: tools/list filtering switches the response body mode at response headers", strings.Join(g.profiles, ", "))
		}
		if c.GetSendBodyWithoutWaitingForHeaderResponse() {
			v.addf(p+".send_body_without_waiting_for_header_response", "must be false: Envoy then ignores mode_override")
		}
	}
	if clusterHeader && (c.GetDisableClearRouteCache() || c.GetRouteCacheAction() == extprocv3.ExternalProcessor_RETAIN) {
		v.addf(p, "the route cache must be clearable: a route picks its cluster from the header agentguard sets")
	}
	h.checkGRPCCluster(p+".grpc_service", c.GetGrpcService())
}

func (h *hcmCheck) checkExtAuthz(g *guard, clusterHeader bool) {
	v, p, c := h.v, g.path, g.authz
	gs := c.GetGrpcService()
	if gs == nil {
		v.addf(p, "grpc_service must be set: agentguard serves ext_authz over gRPC only")
	}
	if c.GetTransportApiVersion() != corev3.ApiVersion_V3 {
		v.addf(p+".transport_api_version", "must be V3, not %s", c.GetTransportApiVersion())
	}
	if c.GetFailureModeAllow() {
		v.addf(p+".failure_mode_allow", "must be false: when agentguard fails, requests must not pass unchecked")
	}
	if wb := c.GetWithRequestBody(); wb == nil {
		v.addf(p+".with_request_body", "must be set: agentguard decides on the request body")
	} else if wb.GetAllowPartialMessage() {
		v.addf(p+".with_request_body.allow_partial_message", "must be false: a body over max_request_bytes would be checked cut short and then forwarded whole")
	}
	h.checkTimeout(p+".grpc_service.timeout", gs.GetTimeout().AsDuration(), gs.GetTimeout() != nil, "grpc_service.timeout")
	if clusterHeader && !c.GetClearRouteCache() {
		v.addf(p+".clear_route_cache", "must be true: a route picks its cluster from the header agentguard sets")
	}
	h.checkGRPCCluster(p+".grpc_service", gs)
}

// checkTimeout: Envoy's per-message timer must be set and longer than
// agentguard's decision_timeout, or Envoy gives up on decisions agentguard
// is still entitled to make.
func (h *hcmCheck) checkTimeout(path string, d time.Duration, set bool, name string) {
	if !set {
		h.v.addf(path, "%s is not set (Envoy's default is 200ms); set it above agentguard's decision_timeout", name)
		return
	}
	if dt := h.o.DecisionTimeout; dt > 0 && d <= dt {
		h.v.addf(path, "%s %s must be larger than agentguard's decision_timeout %s", name, d, dt)
	}
}

// checkGRPCCluster: the cluster an envoy_grpc service names exists and speaks
// HTTP/2 (gRPC needs it; Envoy's default upstream protocol is HTTP/1.1).
func (h *hcmCheck) checkGRPCCluster(path string, gs *corev3.GrpcService) {
	eg := gs.GetEnvoyGrpc()
	if eg == nil {
		return // google_grpc: gRPC's own client, always HTTP/2
	}
	c := h.clusters[eg.GetClusterName()]
	if c == nil {
		h.v.addf(path+".envoy_grpc.cluster_name", "no cluster named %q", eg.GetClusterName())
		return
	}
	if !isHTTP2(c) {
		h.v.addf(path+".envoy_grpc.cluster_name", "cluster %q is not HTTP/2: set typed_extension_protocol_options[%q].explicit_http_config.http2_protocol_options", c.GetName(), httpProtocolOptionsKey)
	}
}

func isHTTP2(c *clusterv3.Cluster) bool {
	opts, ok := unpack(c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey]).(*httpv3.HttpProtocolOptions)
	return ok && opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}

// checkUpstreamTLS: an UpstreamTlsContext without a CA verifies nothing, and
// one without a SAN matcher accepts any trusted certificate for any name.
func (v *validator) checkUpstreamTLS(path string, c *clusterv3.Cluster) {
	tls, ok := unpack(c.GetTransportSocket().GetTypedConfig()).(*tlsv3.UpstreamTlsContext)
	if !ok {
		return
	}
	p := path + ".transport_socket<UpstreamTlsContext>"
	if tls.GetSni() == "" && !c.GetUpstreamHttpProtocolOptions().GetAutoSni() {
		v.addf(p+".sni", "not set: the server cannot choose its certificate")
	}
	ctx := tls.GetCommonTlsContext()
	vc := ctx.GetValidationContext()
	if vc == nil {
		vc = ctx.GetCombinedValidationContext().GetDefaultValidationContext()
	}
	if vc.GetTrustedCa() == nil && ctx.GetValidationContextSdsSecretConfig() == nil {
		v.addf(p+".common_tls_context.validation_context.trusted_ca", "not set: Envoy would accept any server certificate")
	}
	if len(vc.GetMatchTypedSubjectAltNames()) == 0 && !c.GetUpstreamHttpProtocolOptions().GetAutoSanValidation() {
		v.addf(p+".common_tls_context.validation_context.match_typed_subject_alt_names", "not set: any certificate from a trusted CA would be accepted, for any name")
	}
}

// unpack returns the message in a, or nil; Validate's schema pass reports
// an Any that does not unpack.
func unpack(a *anypb.Any) proto.Message {
	if a == nil {
		return nil
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortedPorts(m map[uint32]string) []uint32 {
	ps := make([]uint32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func portList(m map[uint32]string) string {
	var parts []string
	for _, p := range sortedPorts(m) {
		parts = append(parts, fmt.Sprintf("%d %s", p, m[p]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
