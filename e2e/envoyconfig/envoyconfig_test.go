package envoyconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

const envoyDir = "../../envoy"

func codeReview(t *testing.T) Options {
	t.Helper()
	o, err := CodeReviewOptions()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func load(t *testing.T, path string) *bootstrapv3.Bootstrap {
	t.Helper()
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The shipped files decode strictly and pass every check against the
// default deployment (policies/codereview.yaml).
func TestShippedConfigs(t *testing.T) {
	o := codeReview(t)
	for _, name := range []string{"envoy.yaml", "envoy-local.yaml", "envoy-extauthz.yaml"} {
		t.Run(name, func(t *testing.T) {
			b := load(t, filepath.Join(envoyDir, name))
			if errs := Validate(b, o); len(errs) > 0 {
				t.Errorf("%d problems:\n%s", len(errs), Errors(errs))
			}
			if n := len(b.GetStaticResources().GetListeners()); n != 4 {
				t.Errorf("%d listeners, want 4", n)
			}
		})
	}
}

// envoy-local.yaml may differ from envoy.yaml only in addresses, cluster
// discovery types and upstream TLS; everything else (listeners, filters,
// routes, ext_proc settings, buffer limits, admin) must be identical.
func TestLocalMatchesProduction(t *testing.T) {
	prod := load(t, filepath.Join(envoyDir, "envoy.yaml"))
	local := load(t, filepath.Join(envoyDir, "envoy-local.yaml"))

	for _, l := range local.GetStaticResources().GetListeners() {
		if a := l.GetAddress().GetSocketAddress().GetAddress(); a != "127.0.0.1" {
			t.Errorf("local listener %s binds %q, want 127.0.0.1", l.GetName(), a)
		}
	}
	for _, c := range local.GetStaticResources().GetClusters() {
		if c.GetTransportSocket() != nil {
			t.Errorf("local cluster %s has a transport socket; local upstreams are plaintext", c.GetName())
		}
		for _, le := range c.GetLoadAssignment().GetEndpoints() {
			for _, e := range le.GetLbEndpoints() {
				if a := e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress(); a != "127.0.0.1" {
					t.Errorf("local cluster %s points at %q, want 127.0.0.1", c.GetName(), a)
				}
			}
		}
	}
	sameShape(t, "envoy.yaml", withoutAddresses(prod), "envoy-local.yaml", withoutAddresses(local))
}

// envoy-extauthz.yaml keeps the listeners, routes and clusters of envoy.yaml;
// only the agentguard filter and its per-route settings differ.
func TestExtAuthzMatchesProduction(t *testing.T) {
	prod := load(t, filepath.Join(envoyDir, "envoy.yaml"))
	authz := load(t, filepath.Join(envoyDir, "envoy-extauthz.yaml"))
	sameShape(t, "envoy.yaml", withoutGuards(t, prod), "envoy-extauthz.yaml", withoutGuards(t, authz))
}

func withoutAddresses(b *bootstrapv3.Bootstrap) *bootstrapv3.Bootstrap {
	b = proto.Clone(b).(*bootstrapv3.Bootstrap)
	for _, l := range b.GetStaticResources().GetListeners() {
		if sa := l.GetAddress().GetSocketAddress(); sa != nil {
			sa.Address = "" // the port stays
		}
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		c.ClusterDiscoveryType = nil
		c.DnsLookupFamily = 0
		c.LoadAssignment = nil
		c.TransportSocket = nil
	}
	return b
}

// withoutGuards drops the HTTP filters other than the router, and every
// typed_per_filter_config, from each HCM.
func withoutGuards(t *testing.T, b *bootstrapv3.Bootstrap) *bootstrapv3.Bootstrap {
	t.Helper()
	b = proto.Clone(b).(*bootstrapv3.Bootstrap)
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm, ok := unpack(f.GetTypedConfig()).(*hcmv3.HttpConnectionManager)
				if !ok {
					continue
				}
				var kept []*hcmv3.HttpFilter
				for _, hf := range hcm.GetHttpFilters() {
					if isRouter(hf) {
						kept = append(kept, hf)
					}
				}
				hcm.HttpFilters = kept
				for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
					vh.TypedPerFilterConfig = nil
					for _, r := range vh.GetRoutes() {
						r.TypedPerFilterConfig = nil
					}
				}
				a, err := anypb.New(hcm)
				if err != nil {
					t.Fatal(err)
				}
				f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: a}
			}
		}
	}
	return b
}

func sameShape(t *testing.T, an string, a *bootstrapv3.Bootstrap, bn string, b *bootstrapv3.Bootstrap) {
	t.Helper()
	// Compared as JSON, not with proto.Equal: an Any holds its message as
	// bytes, and a map inside it need not serialise in the same order twice.
	// protojson expands each Any and sorts map keys.
	opts := protojson.MarshalOptions{Multiline: true, Indent: "  "}
	as, bs := opts.Format(a), opts.Format(b)
	if as == bs {
		return
	}
	al := strings.Split(as, "\n")
	bl := strings.Split(bs, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			lo := max(0, i-6)
			t.Fatalf("%s and %s differ in more than addresses/TLS/agentguard filter; first difference at line %d of the normalised JSON:\n--- %s\n%s\n--- %s\n%s",
				an, bn, i+1, an, strings.Join(al[lo:min(len(al), i+3)], "\n"), bn, strings.Join(bl[lo:min(len(bl), i+3)], "\n"))
		}
	}
}

// brokenOptions is the default deployment restricted to the one listener
// testdata/minimal.yaml has.
func brokenOptions(t *testing.T) Options {
	o := codeReview(t)
	o.ExpectPorts = map[uint32]string{9083: "mcp"}
	return o
}

func TestMinimalIsValid(t *testing.T) {
	if errs := Validate(load(t, "testdata/minimal.yaml"), brokenOptions(t)); len(errs) > 0 {
		t.Fatalf("minimal.yaml must be clean for the broken cases to mean anything:\n%s", Errors(errs))
	}
}

// Each file in testdata/broken is testdata/minimal.yaml with one fault; each
// must be caught, by Load or by Validate, with the message below.
func TestBroken(t *testing.T) {
	o := brokenOptions(t)
	// Each file must be caught with every message listed for it.
	cases := []struct{ file, want string }{
		{"unknown_field", `unknown_field.yaml:41:`},
		{"unknown_field", `unknown field "message_timout"`},
		{"wrong_enum", `wrong_enum.yaml:36:`},
		{"wrong_enum", `invalid value for enum field requestBodyMode: "BUFFER"`},
		{"missing_route_cluster", `no cluster "semgrep", which agentguard sets in its route header`},
		{"missing_grpc_cluster", `envoy_grpc.cluster_name: no cluster named "agentgaurd"`},
		{"not_http2", `cluster "agentguard" is not HTTP/2`},
		{"full_duplex_failure_mode_allow", `FULL_DUPLEX_STREAMED body mode requires failure_mode_allow false`},
		{"full_duplex_no_trailers", `response_body_mode FULL_DUPLEX_STREAMED requires response_trailer_mode SEND`},
		{"unknown_profile", `profile "mcp-prod" does not exist in agentguard's config`},
		{"invalid_any_in_map", `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]<HttpProtocolOptions>: schema: invalid HttpProtocolOptions.ExplicitHttpConfig`},
		{"no_message_timeout", `message_timeout: message_timeout is not set`},
		{"short_message_timeout", `message_timeout 100ms must be larger than agentguard's decision_timeout 150ms`},
		{"failure_mode_allow", `failure_mode_allow: must be false`},
		{"no_mode_override", `allow_mode_override: must be true for profile(s) mcp`},
		{"streamed_request_body", `request_body_mode: must be BUFFERED, not STREAMED`},
		{"wrong_port", `listener on port 9084, which is not one of agentguard's documented ports`},
		{"router_not_last", `must be the last HTTP filter`},
		{"tls_unverified", `trusted_ca: not set: Envoy would accept any server certificate`},
		{"tls_no_san", `match_typed_subject_alt_names: not set`},
		{"body_limit_too_small", `Envoy buffers at most 65536 bytes of a request body here (listener per_connection_buffer_limit_bytes) but profile "mcp" accepts 1048576`},
		{"client_cluster_header", `"x-mcp-server" is not a header agentguard sets`},
		{"per_route_disabled", `ext_proc is disabled for this route`},
		{"per_route_typo", `typed_per_filter_config["envoy.filters.http.extproc"]: names no HTTP filter`},
		{"extauthz_partial_body", `allow_partial_message: must be false`},
		{"path_not_normalized", `normalize_path and merge_slashes must be true`},
		{"path_not_normalized", `path_with_escaped_slashes_action must be REJECT_REQUEST or UNESCAPE_AND_REDIRECT`},
	}
	files, err := filepath.Glob("testdata/broken/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.file] = true
	}
	for _, f := range files {
		if !listed[strings.TrimSuffix(filepath.Base(f), ".yaml")] {
			t.Errorf("%s has no expected error in TestBroken", f)
		}
	}
	for _, c := range cases {
		want := c.want
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata/broken", c.file+".yaml")
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			var got string
			b, err := Load(path)
			if err != nil {
				got = err.Error()
			} else {
				errs := Validate(b, o)
				for _, e := range errs {
					if _, ok := e.(*Problem); !ok {
						t.Errorf("error %v is a %T, want *Problem", e, e)
					}
				}
				got = Errors(errs)
			}
			if got == "" {
				t.Fatalf("no problem found, want %q", want)
			}
			if !strings.Contains(got, want) {
				t.Errorf("want %q among:\n%s", want, got)
			}
		})
	}
}

// The Any inside typed_extension_protocol_options (a map) escapes the
// bootstrap's generated ValidateAll; Validate must still reach it.
func TestAnyInMapEscapesValidateAll(t *testing.T) {
	b := load(t, "testdata/broken/invalid_any_in_map.yaml")
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("ValidateAll now sees inside the Any (%v); the case no longer proves the walk", err)
	}
	if errs := Validate(b, brokenOptions(t)); len(errs) == 0 {
		t.Fatal("Validate missed the invalid HttpProtocolOptions")
	}
}

func TestYAMLToJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "types kept", in: "a: \"9000\"\nb: 9000\nc: true\nd: 0.5s\ne: 1.5\nf: null\ng: 0x10", want: `{"a":"9000","b":9000,"c":true,"d":"0.5s","e":1.5,"f":null,"g":16}`},
		{name: "anchors", in: "a: &x {k: v}\nb: *x", want: `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{name: "escapes", in: "a: \"\\t\\u0001\"", want: `{"a":"\t\u0001"}`},
		{name: "merge keys", in: "a: &x {k: v}\nb:\n  <<: *x", err: "merge keys"},
		{name: "duplicate keys", in: "a: 1\na: 2", err: "duplicate key"},
		{name: "two documents", in: "a: 1\n---\nb: 2", err: "more than one YAML document"},
		{name: "empty", in: "", err: "empty YAML"},
		{name: "infinity", in: "a: .inf", err: "not a JSON number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
