package harness

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// routeTable is an inline RouteConfiguration (route.proto).
type routeTable struct {
	cfg    *routev3.RouteConfiguration
	vhosts []*vhost
}

type vhost struct {
	cfg     *routev3.VirtualHost
	domains []string
	routes  []*route
}

type route struct {
	cfg *routev3.Route
	vh  *vhost
	rt  *routeTable

	prefix, path string
	sepPrefix    string
	regex        *regexp.Regexp
	ignoreCase   bool
	headers      []*headerMatcher

	cluster       string
	clusterHeader string
	notFoundCode  int
	prefixRewrite string
	hostRewrite   string
	timeout       time.Duration // 0: none
	retry         *retryPolicy
	direct        *routev3.DirectResponseAction
}

// Route timeout default: 15 s; 0 disables it (route_components.proto,
// RouteAction.timeout).
const defaultRouteTimeout = 15 * time.Second

func newRouteTable(rc *routev3.RouteConfiguration, clusters map[string]*cluster) (*routeTable, error) {
	t := &routeTable{cfg: rc}
	for _, vc := range rc.GetVirtualHosts() {
		vh := &vhost{cfg: vc}
		for _, d := range vc.GetDomains() {
			vh.domains = append(vh.domains, strings.ToLower(d))
		}
		for i, rcfg := range vc.GetRoutes() {
			r, err := newRoute(rcfg, clusters)
			if err != nil {
				return nil, fmt.Errorf("virtual host %q route %d: %w", vc.GetName(), i, err)
			}
			r.vh, r.rt = vh, t
			vh.routes = append(vh.routes, r)
		}
		t.vhosts = append(t.vhosts, vh)
	}
	return t, nil
}

func newRoute(rc *routev3.Route, clusters map[string]*cluster) (*route, error) {
	r := &route{cfg: rc}
	m := rc.GetMatch()
	if m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue() {
		r.ignoreCase = true
	}
	switch ps := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		r.prefix = ps.Prefix
	case *routev3.RouteMatch_Path:
		r.path = ps.Path
	case *routev3.RouteMatch_PathSeparatedPrefix:
		r.sepPrefix = ps.PathSeparatedPrefix
	case *routev3.RouteMatch_SafeRegex:
		// RE2 full match on the path without the query
		// (route_components.proto, RouteMatch.safe_regex).
		re, err := regexp.Compile("^(?:" + ps.SafeRegex.GetRegex() + ")$")
		if err != nil {
			return nil, fmt.Errorf("safe_regex: %w", err)
		}
		r.regex = re
	default:
		return nil, fmt.Errorf("path matcher %T is not implemented", ps)
	}
	if len(m.GetQueryParameters()) > 0 || m.GetGrpc() != nil || m.GetRuntimeFraction() != nil ||
		len(m.GetDynamicMetadata()) > 0 || m.GetTlsContext() != nil || m.GetFilterState() != nil {
		return nil, errors.New("only path, prefix, path_separated_prefix, safe_regex and headers matchers are implemented")
	}
	for _, hm := range m.GetHeaders() {
		h, err := newHeaderMatcher(hm)
		if err != nil {
			return nil, err
		}
		r.headers = append(r.headers, h)
	}
	switch a := rc.GetAction().(type) {
	case *routev3.Route_Route:
		ra := a.Route
		switch cs := ra.GetClusterSpecifier().(type) {
		case *routev3.RouteAction_Cluster:
			r.cluster = cs.Cluster
		case *routev3.RouteAction_ClusterHeader:
			r.clusterHeader = strings.ToLower(cs.ClusterHeader)
		default:
			return nil, fmt.Errorf("cluster specifier %T is not implemented", cs)
		}
		// The status when the named cluster does not exist: 503 unless
		// cluster_not_found_response_code says otherwise
		// (route_components.proto, RouteAction.cluster_not_found_response_code;
		// source/common/router/router.cc sends it as a local reply).
		switch ra.GetClusterNotFoundResponseCode() {
		case routev3.RouteAction_NOT_FOUND:
			r.notFoundCode = http.StatusNotFound
		case routev3.RouteAction_INTERNAL_SERVER_ERROR:
			r.notFoundCode = http.StatusInternalServerError
		default:
			r.notFoundCode = http.StatusServiceUnavailable
		}
		r.prefixRewrite = ra.GetPrefixRewrite()
		if ra.GetRegexRewrite() != nil || ra.GetPathRewritePolicy() != nil ||
			ra.GetHostRewriteHeader() != "" || ra.GetHostRewritePathRegex() != nil ||
			ra.GetAutoHostRewrite() != nil {
			return nil, errors.New("only prefix_rewrite and host_rewrite_literal rewrites are implemented")
		}
		r.hostRewrite = ra.GetHostRewriteLiteral()
		r.timeout = defaultRouteTimeout
		if ra.GetTimeout() != nil {
			r.timeout = ra.GetTimeout().AsDuration()
		}
		if rp := ra.GetRetryPolicy(); rp != nil {
			p, err := newRetryPolicy(rp)
			if err != nil {
				return nil, err
			}
			r.retry = p
		}
	case *routev3.Route_DirectResponse:
		r.direct = a.DirectResponse
	default:
		return nil, fmt.Errorf("route action %T is not implemented", a)
	}
	return r, nil
}

// match picks the virtual host by :authority, then the first matching
// route (route_components.proto, VirtualHost.domains: exact names first,
// then suffix wildcards "*.foo.com", then prefix wildcards "foo.*", then
// "*", longest wildcard first; Route: "the first route that matches wins").
func (t *routeTable) match(h *headerMap) *route {
	vh := t.vhost(strings.ToLower(h.value(":authority")))
	if vh == nil {
		return nil
	}
	for _, r := range vh.routes {
		if r.matches(h) {
			return r
		}
	}
	return nil
}

func (t *routeTable) vhost(host string) *vhost {
	var best *vhost
	bestRank, bestLen := 0, -1
	for _, vh := range t.vhosts {
		for _, d := range vh.domains {
			rank, n := 0, len(d)
			switch {
			case d == host:
				rank = 4
			case d == "*":
				rank = 1
			case strings.HasPrefix(d, "*") && strings.HasSuffix(host, d[1:]) && len(host) > len(d)-1:
				rank = 3
			case strings.HasSuffix(d, "*") && strings.HasPrefix(host, d[:len(d)-1]) && len(host) > len(d)-1:
				rank = 2
			}
			if rank > bestRank || (rank == bestRank && rank > 0 && n > bestLen) {
				best, bestRank, bestLen = vh, rank, n
			}
		}
	}
	return best
}

func (r *route) matches(h *headerMap) bool {
	full := h.value(":path")
	p, _, _ := strings.Cut(full, "?")
	cmp := func(a string) string {
		if r.ignoreCase {
			return strings.ToLower(a)
		}
		return a
	}
	switch {
	case r.regex != nil:
		if !r.regex.MatchString(p) {
			return false
		}
	case r.path != "":
		if cmp(p) != cmp(r.path) {
			return false
		}
	case r.sepPrefix != "":
		if !(p == r.sepPrefix || strings.HasPrefix(p, r.sepPrefix+"/")) {
			return false
		}
	default:
		// prefix matches against the :path header including the query
		// (route_components.proto, RouteMatch.prefix).
		if !strings.HasPrefix(cmp(full), cmp(r.prefix)) {
			return false
		}
	}
	for _, hm := range r.headers {
		if !hm.matches(h) {
			return false
		}
	}
	return true
}

// headerMatcher is route_components.proto HeaderMatcher: a repeated header's
// values are joined with "," before matching; invert_match negates;
// present_match tests presence; a missing header fails every value matcher
// unless treat_missing_header_as_empty.
type headerMatcher struct {
	name           string
	invert         bool
	present        *bool
	missingAsEmpty bool
	str            func(string) bool
}

func newHeaderMatcher(hm *routev3.HeaderMatcher) (*headerMatcher, error) {
	m := &headerMatcher{name: strings.ToLower(hm.GetName()), invert: hm.GetInvertMatch(), missingAsEmpty: hm.GetTreatMissingHeaderAsEmpty()}
	switch s := hm.GetHeaderMatchSpecifier().(type) {
	case nil:
		t := true
		m.present = &t
	case *routev3.HeaderMatcher_PresentMatch:
		m.present = &s.PresentMatch
	case *routev3.HeaderMatcher_ExactMatch:
		m.str = func(v string) bool { return v == s.ExactMatch }
	case *routev3.HeaderMatcher_PrefixMatch:
		m.str = func(v string) bool { return strings.HasPrefix(v, s.PrefixMatch) }
	case *routev3.HeaderMatcher_SuffixMatch:
		m.str = func(v string) bool { return strings.HasSuffix(v, s.SuffixMatch) }
	case *routev3.HeaderMatcher_ContainsMatch:
		m.str = func(v string) bool { return strings.Contains(v, s.ContainsMatch) }
	case *routev3.HeaderMatcher_SafeRegexMatch:
		re, err := regexp.Compile("^(?:" + s.SafeRegexMatch.GetRegex() + ")$")
		if err != nil {
			return nil, err
		}
		m.str = re.MatchString
	case *routev3.HeaderMatcher_StringMatch:
		f, err := stringMatcher(s.StringMatch)
		if err != nil {
			return nil, err
		}
		m.str = f
	default:
		return nil, fmt.Errorf("header matcher %T is not implemented", s)
	}
	return m, nil
}

func stringMatcher(sm *matcherv3.StringMatcher) (func(string) bool, error) {
	fold := sm.GetIgnoreCase()
	norm := func(v string) string {
		if fold {
			return strings.ToLower(v)
		}
		return v
	}
	switch p := sm.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return func(v string) bool { return norm(v) == norm(p.Exact) }, nil
	case *matcherv3.StringMatcher_Prefix:
		return func(v string) bool { return strings.HasPrefix(norm(v), norm(p.Prefix)) }, nil
	case *matcherv3.StringMatcher_Suffix:
		return func(v string) bool { return strings.HasSuffix(norm(v), norm(p.Suffix)) }, nil
	case *matcherv3.StringMatcher_Contains:
		return func(v string) bool { return strings.Contains(norm(v), norm(p.Contains)) }, nil
	case *matcherv3.StringMatcher_SafeRegex:
		re, err := regexp.Compile("^(?:" + p.SafeRegex.GetRegex() + ")$")
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("string matcher %T is not implemented", sm.GetMatchPattern())
}

func (m *headerMatcher) matches(h *headerMap) bool {
	v, ok := h.joined(m.name)
	var res bool
	switch {
	case m.present != nil:
		res = ok == *m.present
	case !ok && !m.missingAsEmpty:
		return false // a missing header never matches, inverted or not
	default:
		res = m.str(v)
	}
	if m.invert {
		return !res
	}
	return res
}

// perFilterConfig collects a filter's typed_per_filter_config from the
// route configuration, the virtual host and the route, least specific
// first, for the filter to merge (route_components.proto,
// typed_per_filter_config: "the most specific" config wins).
func (r *route) perFilterConfig(filterName string) []*anypb.Any {
	if r == nil {
		return nil
	}
	var out []*anypb.Any
	for _, m := range []map[string]*anypb.Any{
		r.rt.cfg.GetTypedPerFilterConfig(), r.vh.cfg.GetTypedPerFilterConfig(), r.cfg.GetTypedPerFilterConfig(),
	} {
		if a, ok := m[filterName]; ok {
			out = append(out, a)
		}
	}
	return out
}
