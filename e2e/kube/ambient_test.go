package kube

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/agentguard/agentguard/e2e/envoyconfig"
)

// The ambient overlay agrees with itself, with istiod's extension provider
// (istiod-values.yaml), with agentguard's config and with envoy/envoy.yaml.
func TestAmbientAgrees(t *testing.T) {
	d := loadBase(t, "overlays/ambient")
	objs := d.objs
	svc := objs.get(t, "Service", "agentguard", false)
	grpcPort := num(named(t, svc, "grpc", "spec", "ports"), "port")
	fqdn := svc.name() + "." + svc.ns() + ".svc.cluster.local"

	// istiod's extension provider: strict MeshConfig decode (istio.io/api),
	// then what it must say.
	valuesPath := filepath.Join(repoRoot, "manifests", "overlays", "ambient", "istiod-values.yaml")
	if out, err := exec.Command(dryrunBinary(t), "mesh", valuesPath).CombinedOutput(); err != nil {
		t.Fatalf("istiod-values.yaml is not a valid MeshConfig: %v\n%s", err, out)
	}
	var values map[string]any
	if err := yaml.Unmarshal(mustRead(t, "manifests/overlays/ambient/istiod-values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	providers := list(values, "meshConfig", "extensionProviders")
	if len(providers) != 1 {
		t.Fatalf("%d extension providers, want 1", len(providers))
	}
	prov := providers[0]
	authz := at(prov, "envoyExtAuthzGrpc")
	if str(authz, "service") != fqdn || num(authz, "port") != grpcPort {
		t.Errorf("provider reaches %s:%d, agentguard's Service is %s:%d", str(authz, "service"), num(authz, "port"), fqdn, grpcPort)
	}
	if at(authz, "failOpen") != false || at(authz, "includeRequestBodyInCheck", "allowPartialMessage") != false ||
		at(authz, "includeRequestBodyInCheck", "packAsBytes") != true {
		t.Errorf("provider must fail closed with whole, raw bodies: %v", authz)
	}
	var maxBody int64
	for _, p := range d.cfg.Profiles {
		maxBody = max(maxBody, p.MaxBodyBytes)
	}
	if got := int64(num(authz, "includeRequestBodyInCheck", "maxRequestBytes")); got != maxBody {
		t.Errorf("maxRequestBytes %d, the largest profile max_body_bytes is %d", got, maxBody)
	}
	if to, err := time.ParseDuration(str(authz, "timeout")); err != nil || to <= time.Duration(d.cfg.DecisionTimeout) {
		t.Errorf("provider timeout %q must exceed decision_timeout %s", str(authz, "timeout"), time.Duration(d.cfg.DecisionTimeout))
	}

	// The waypoint, its namespace binding and the policies attached to it.
	gw := objs.get(t, "Gateway", "agentguard-waypoint", false)
	if str(gw, "spec", "gatewayClassName") != "istio-waypoint" ||
		str(gw, "metadata", "annotations", "ambient.istio.io/xfcc-include-client-identity") != "true" {
		t.Errorf("waypoint: class %q, annotations %v", str(gw, "spec", "gatewayClassName"), at(gw, "metadata", "annotations"))
	}
	if l := at(gw, "spec", "listeners", "0"); num(l, "port") != 15008 || str(l, "protocol") != "HBONE" {
		t.Errorf("waypoint listener %v, want port 15008 protocol HBONE", l)
	}
	tools := objs.get(t, "Namespace", "agent-tools", false)
	labels := at(tools, "metadata", "labels")
	if str(labels, "istio.io/use-waypoint") != gw.name() || str(labels, "istio.io/use-waypoint-namespace") != gw.ns() ||
		str(labels, "istio.io/dataplane-mode") != "ambient" {
		t.Errorf("namespace agent-tools labels %v do not bind waypoint %s/%s", labels, gw.ns(), gw.name())
	}
	agNS := objs.get(t, "Namespace", svc.ns(), false)
	if str(agNS, "metadata", "labels", "istio.io/dataplane-mode") != "ambient" || str(agNS, "metadata", "labels", "istio.io/use-waypoint") != "" {
		t.Errorf("namespace %s must be ambient and use no waypoint: %v", svc.ns(), at(agNS, "metadata", "labels"))
	}
	targetsWaypoint := func(o object) bool {
		ref := at(o, "spec", "targetRefs", "0")
		return o.ns() == gw.ns() && str(ref, "kind") == "Gateway" && str(ref, "name") == gw.name() &&
			str(ref, "group") == "gateway.networking.k8s.io"
	}
	custom := objs.get(t, "AuthorizationPolicy", "agentguard-ext-authz", false)
	if str(custom, "spec", "action") != "CUSTOM" || str(custom, "spec", "provider", "name") != str(prov, "name") || !targetsWaypoint(custom) {
		t.Errorf("CUSTOM policy %v must target the waypoint with provider %q", at(custom, "spec"), str(prov, "name"))
	}

	// L4: the agents of the config, and only they, reach the waypoint; only
	// the waypoint reaches the tools and agentguard's gRPC port.
	waypointID := "cluster.local/ns/" + gw.ns() + "/sa/" + gw.name()
	var agents []string
	for _, a := range d.cfg.Agents {
		for _, id := range a.SPIFFE {
			agents = append(agents, strings.TrimPrefix(id, "spiffe://"))
		}
	}
	sort.Strings(agents)
	allowAgents := objs.get(t, "AuthorizationPolicy", "waypoint-allow-agents", false)
	if got := principals(allowAgents, 0); !targetsWaypoint(allowAgents) || !equal(got, agents) {
		t.Errorf("waypoint-allow-agents allows %v, the config's agents are %v", got, agents)
	}
	tollgate := objs.get(t, "AuthorizationPolicy", "allow-waypoint-only", false)
	if got := principals(tollgate, 0); tollgate.ns() != tools.name() || at(tollgate, "spec", "selector") != nil || !equal(got, []string{waypointID}) {
		t.Errorf("allow-waypoint-only (%s) allows %v, want only %s on every pod of %s", tollgate.ns(), got, waypointID, tools.name())
	}
	agPolicy := objs.get(t, "AuthorizationPolicy", "agentguard-allow-waypoint", false)
	if got := principals(agPolicy, 0); !equal(got, []string{waypointID}) ||
		str(at(agPolicy, "spec", "rules", "0", "to", "0", "operation", "ports", "0")) != "9000" {
		t.Errorf("agentguard-allow-waypoint rule 0 = %v, want %s to port 9000", at(agPolicy, "spec", "rules", "0"), waypointID)
	}

	// MCP: one header-vs-Service guard per server of the config.
	for _, p := range d.cfg.Profiles {
		if p.MCP == nil {
			continue
		}
		for _, s := range p.MCP.Servers {
			pol := objs.get(t, "AuthorizationPolicy", "mcp-server-header-"+s.Name, false)
			cond := at(pol, "spec", "rules", "0", "when", "0")
			if str(pol, "spec", "action") != "DENY" || str(pol, "spec", "targetRefs", "0", "name") != s.Name ||
				str(cond, "key") != "request.headers["+p.MCP.ServerHeader+"]" || str(cond, "notValues", "0") != s.Name {
				t.Errorf("mcp-server-header-%s = %v", s.Name, at(pol, "spec"))
			}
		}
	}

	// LLM egress: each provider's ServiceEntry port is its profile's port.
	for _, p := range d.cfg.Profiles {
		if p.LLM == nil {
			continue
		}
		se := objs.get(t, "ServiceEntry", p.Name, false)
		port := at(se, "spec", "ports", "0")
		if !contains(p.Match.Ports, num(port, "number")) || num(port, "targetPort") != 443 || str(port, "protocol") != "HTTP" {
			t.Errorf("ServiceEntry %s port %v; profile %s matches ports %v", p.Name, port, p.Name, p.Match.Ports)
		}
		dr := objs.get(t, "DestinationRule", p.Name, false)
		if str(dr, "spec", "host") != str(se, "spec", "hosts", "0") || str(dr, "spec", "trafficPolicy", "tls", "mode") != "SIMPLE" {
			t.Errorf("DestinationRule %s does not originate TLS to %s", p.Name, str(se, "spec", "hosts", "0"))
		}
	}

	checkEnvoyFilter(t, objs.get(t, "EnvoyFilter", "agentguard-ext-proc", false), targetsWaypoint, fqdn, grpcPort)
}

// checkEnvoyFilter decodes the inserted HTTP filter strictly into Envoy's
// API and compares its ext_proc settings with envoy/envoy.yaml's.
func checkEnvoyFilter(t *testing.T, ef object, targetsWaypoint func(object) bool, fqdn string, port int) {
	t.Helper()
	if !targetsWaypoint(ef) {
		t.Errorf("EnvoyFilter targetRefs %v, want the waypoint", at(ef, "spec", "targetRefs"))
	}
	if got := str(ef, "metadata", "annotations", "envoyfilter.istio.io/referenced-services"); got != fqdn {
		t.Errorf("referenced-services %q, want %q", got, fqdn)
	}
	js, err := json.Marshal(at(ef, "spec", "configPatches", "0", "patch", "value"))
	if err != nil {
		t.Fatal(err)
	}
	var f hcmv3.HttpFilter
	if err := protojson.Unmarshal(js, &f); err != nil {
		t.Fatalf("EnvoyFilter patch is not an Envoy HttpFilter: %v", err)
	}
	var got extprocv3.ExternalProcessor
	if err := f.GetTypedConfig().UnmarshalTo(&got); err != nil {
		t.Fatalf("EnvoyFilter typed_config is not ext_proc: %v", err)
	}
	if err := got.ValidateAll(); err != nil {
		t.Errorf("ext_proc config: %v", err)
	}
	if want := "outbound|" + itoa(port) + "||" + fqdn; got.GetGrpcService().GetEnvoyGrpc().GetClusterName() != want {
		t.Errorf("ext_proc cluster %q, want %q", got.GetGrpcService().GetEnvoyGrpc().GetClusterName(), want)
	}

	b, err := envoyconfig.Load(filepath.Join(repoRoot, "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ref := firstExtProc(t, b.GetStaticResources().GetListeners()[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig())
	if got.GetFailureModeAllow() || !proto.Equal(got.GetProcessingMode(), ref.GetProcessingMode()) ||
		got.GetAllowModeOverride() != ref.GetAllowModeOverride() || !proto.Equal(got.GetMessageTimeout(), ref.GetMessageTimeout()) {
		t.Errorf("waypoint ext_proc differs from envoy/envoy.yaml's:\n got  %v\n want %v", &got, ref)
	}
}

func firstExtProc(t *testing.T, hcmAny interface{ UnmarshalTo(proto.Message) error }) *extprocv3.ExternalProcessor {
	t.Helper()
	var hcm hcmv3.HttpConnectionManager
	if err := hcmAny.UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	for _, f := range hcm.GetHttpFilters() {
		var ep extprocv3.ExternalProcessor
		if f.GetTypedConfig().UnmarshalTo(&ep) == nil {
			return &ep
		}
	}
	t.Fatal("envoy/envoy.yaml: no ext_proc filter on the first listener")
	return nil
}

// principals returns the sorted source principals of rule i.
func principals(policy object, i int) []string {
	var out []string
	for _, p := range list(policy, "spec", "rules", itoa(i), "from", "0", "source", "principals") {
		out = append(out, p.(string))
	}
	sort.Strings(out)
	return out
}

func contains(ports []int, p int) bool {
	for _, x := range ports {
		if x == p {
			return true
		}
	}
	return false
}
