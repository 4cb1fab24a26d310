package kube

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/agentguard/agentguard/e2e/envoyconfig"
	"github.com/agentguard/agentguard/pkg/config"
)

// The manifests carry copies of files kustomize cannot reach (its default
// load restrictions forbid paths outside the kustomization's tree); each
// copy must be the original, byte for byte.
func TestCopiesAreIdentical(t *testing.T) {
	for copyPath, orig := range map[string]string{
		"manifests/base/agentguard.yaml":           "policies/codereview.yaml",
		"manifests/overlays/standalone/envoy.yaml": "envoy/envoy.yaml",
	} {
		a, err := os.ReadFile(filepath.Join(repoRoot, copyPath))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(repoRoot, orig))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s; run: cp %s %s", copyPath, orig, orig, copyPath)
		}
	}
}

// deployment is what the cross-checks read from the rendered base.
type deployment struct {
	objs      objects
	cfg       *config.File
	cfgData   string
	container map[string]any
	pod       object
	args      []any
}

func loadBase(t *testing.T, rel string) deployment {
	t.Helper()
	objs := parseObjects(t, render(t, rel))
	cm := objs.get(t, "ConfigMap", "agentguard-config", true)
	data := str(cm, "data", "agentguard.yaml")
	cfg, err := config.Parse("agentguard-config/agentguard.yaml", []byte(data))
	if err != nil {
		t.Fatalf("the ConfigMap's config fails agentguard's validation: %v", err)
	}
	dep := objs.get(t, "Deployment", "agentguard", false)
	pod := object(at(dep, "spec", "template").(map[string]any))
	c := named(t, pod, "agentguard", "spec", "containers")
	return deployment{objs: objs, cfg: cfg, cfgData: data, container: c, pod: pod, args: list(c, "args")}
}

func (d deployment) flag(t *testing.T, name string) string {
	t.Helper()
	v, err := flagValue(d.args, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mountOf returns the mount path of the volume that holds the given
// ConfigMap or Secret (kind "configMap" or "secret", name as rendered).
func (d deployment) mountOf(t *testing.T, kind, nameField, name string) string {
	t.Helper()
	for _, v := range list(d.pod, "spec", "volumes") {
		if str(v, kind, nameField) != name {
			continue
		}
		for _, m := range list(d.container, "volumeMounts") {
			if str(m, "name") == str(v, "name") {
				if at(m, "readOnly") != true {
					t.Errorf("volume %s is mounted writable", str(v, "name"))
				}
				return str(m, "mountPath")
			}
		}
	}
	t.Fatalf("no mounted volume for %s %s", kind, name)
	return ""
}

func (d deployment) containerPort(t *testing.T, name string) int {
	t.Helper()
	return num(named(t, d.container, name, "ports"), "containerPort")
}

// The base agrees with itself and with agentguard's flags and config.
func TestBaseAgrees(t *testing.T) {
	d := loadBase(t, "base")
	orig, err := os.ReadFile(filepath.Join(repoRoot, "policies", "codereview.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if d.cfgData != string(orig) {
		t.Error("the rendered ConfigMap does not hold policies/codereview.yaml")
	}

	// The config file the container reads is the ConfigMap's key.
	cm := d.objs.get(t, "ConfigMap", "agentguard-config", true)
	if got, want := d.flag(t, "config"), path.Join(d.mountOf(t, "configMap", "name", cm.name()), "agentguard.yaml"); got != want {
		t.Errorf("-config=%s, the ConfigMap is mounted at %s", got, want)
	}

	// Every credential file the config reads is a key of the Secret
	// template, in the directory the Secret is mounted at.
	tmpl := parseObjects(t, mustRead(t, "manifests/base/secret.template.yaml"))
	sec := tmpl.get(t, "Secret", "agentguard-credentials", false)
	dir := d.mountOf(t, "secret", "secretName", sec.name())
	var keys []string
	for k := range at(sec, "stringData").(map[string]any) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	files := credentialFiles(d.cfg)
	if len(files) == 0 {
		t.Fatal("the config reads no credential file")
	}
	var want []string
	for _, f := range files {
		if path.Dir(f) != dir {
			t.Errorf("config reads %s, outside the Secret's mount %s", f, dir)
		}
		want = append(want, path.Base(f))
	}
	sort.Strings(want)
	if !equal(keys, want) {
		t.Errorf("Secret template keys %v, config reads %v", keys, want)
	}

	// Ports: gRPC 9000, metrics 15020 (annotations), health 15021 (probes);
	// admin on loopback and never a container or Service port.
	svc := d.objs.get(t, "Service", "agentguard", false)
	grpc := named(t, svc, "grpc", "spec", "ports")
	if num(grpc, "port") != 9000 || str(grpc, "appProtocol") != "grpc" || str(grpc, "targetPort") != "grpc" {
		t.Errorf("Service port grpc = %v, want 9000, appProtocol grpc, targetPort grpc", grpc)
	}
	if p := d.containerPort(t, "grpc"); p != 9000 || portOf(d.flag(t, "grpc-addr")) != p {
		t.Errorf("gRPC: container port %d, -grpc-addr=%s", p, d.flag(t, "grpc-addr"))
	}
	metrics := d.containerPort(t, "http-metrics")
	if metrics != 15020 || portOf(d.flag(t, "metrics-addr")) != metrics ||
		num(named(t, svc, "http-metrics", "spec", "ports"), "port") != metrics ||
		str(d.pod, "metadata", "annotations", "prometheus.io/port") != "15020" ||
		str(d.pod, "metadata", "annotations", "prometheus.io/scrape") != "true" {
		t.Errorf("metrics: container port %d, -metrics-addr=%s, annotations %v", metrics, d.flag(t, "metrics-addr"), at(d.pod, "metadata", "annotations"))
	}
	health := d.containerPort(t, "http-health")
	if health != 15021 || portOf(d.flag(t, "health-addr")) != health {
		t.Errorf("health: container port %d, -health-addr=%s", health, d.flag(t, "health-addr"))
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		if p := str(d.container, probe, "httpGet", "port"); p != "http-health" {
			t.Errorf("%s port %q, want http-health (15021)", probe, p)
		}
	}
	if a := d.flag(t, "admin-addr"); a != "127.0.0.1:15000" {
		t.Errorf("-admin-addr=%s, want loopback 127.0.0.1:15000", a)
	}
	for _, p := range append(list(d.container, "ports"), list(svc, "spec", "ports")...) {
		if num(p, "containerPort") == 15000 || num(p, "port") == 15000 {
			t.Errorf("admin port 15000 exposed: %v", p)
		}
	}

	// Hardening the API server's Pod Security admission does not cover.
	if at(d.container, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("readOnlyRootFilesystem is not set")
	}
	dep := d.objs.get(t, "Deployment", "agentguard", false)
	if num(dep, "spec", "replicas") < 2 {
		t.Error("fewer than 2 replicas: Envoy fails closed when the only one restarts")
	}
	if len(list(d.pod, "spec", "topologySpreadConstraints")) == 0 {
		t.Error("no topologySpreadConstraints")
	}
	pdb := d.objs.get(t, "PodDisruptionBudget", "agentguard", false)
	if str(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name") != str(d.pod, "metadata", "labels", "app.kubernetes.io/name") ||
		str(svc, "spec", "selector", "app.kubernetes.io/name") != str(d.pod, "metadata", "labels", "app.kubernetes.io/name") {
		t.Error("the Service or PodDisruptionBudget does not select agentguard's pods")
	}
}

// The standalone overlay runs envoy/envoy.yaml, which passes e2e/envoyconfig's
// checks, reaches agentguard's Service, and listens where the Service and
// agentguard's profiles say.
func TestStandaloneAgrees(t *testing.T) {
	d := loadBase(t, "overlays/standalone")
	cm := d.objs.get(t, "ConfigMap", "envoy-config", true)
	data := str(cm, "data", "envoy.yaml")
	b, err := envoyconfig.Parse("envoy-config/envoy.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	o := envoyconfig.OptionsFromConfig(d.cfg, envoyconfig.DocumentedPorts())
	if errs := envoyconfig.Validate(b, o); len(errs) > 0 {
		t.Errorf("envoy config:\n%s", envoyconfig.Errors(errs))
	}

	envoy := d.objs.get(t, "Deployment", "envoy", false)
	pod := at(envoy, "spec", "template")
	c := named(t, pod, "envoy", "spec", "containers")
	ed := deployment{pod: object(pod.(map[string]any)), container: c}
	if got, want := list(c, "args")[1], path.Join(ed.mountOf(t, "configMap", "name", cm.name()), "envoy.yaml"); got != want {
		t.Errorf("envoy -c %v, the ConfigMap is mounted at %s", got, want)
	}

	// Envoy's agentguard cluster is the agentguard Service's gRPC port.
	svc := d.objs.get(t, "Service", "agentguard", false)
	host, port := clusterAddress(t, b, "agentguard")
	if host != svc.name() || port != num(named(t, svc, "grpc", "spec", "ports"), "port") {
		t.Errorf("Envoy reaches agentguard at %s:%d, the Service is %s:%d", host, port, svc.name(), num(named(t, svc, "grpc", "spec", "ports"), "port"))
	}

	// Listener ports = Service ports = container ports = profile ports.
	listeners := map[int]bool{}
	for _, l := range b.GetStaticResources().GetListeners() {
		listeners[int(l.GetAddress().GetSocketAddress().GetPortValue())] = true
	}
	profiles := map[int]bool{}
	for _, p := range d.cfg.Profiles {
		for _, port := range p.Match.Ports {
			profiles[port] = true
		}
	}
	esvc := d.objs.get(t, "Service", "envoy", false)
	services, containers := map[int]bool{}, map[int]bool{}
	for _, p := range list(esvc, "spec", "ports") {
		services[num(p, "port")] = true
		target := str(p, "targetPort")
		if num(named(t, c, target, "ports"), "containerPort") != num(p, "port") {
			t.Errorf("Service envoy port %d targets %s, a different container port", num(p, "port"), target)
		}
	}
	for _, p := range list(c, "ports") {
		containers[num(p, "containerPort")] = true
	}
	for name, set := range map[string]map[int]bool{"Service envoy": services, "envoy container": containers, "agentguard profiles": profiles} {
		if !sameKeys(set, listeners) {
			t.Errorf("%s ports %v, Envoy listeners %v", name, keysOf(set), keysOf(listeners))
		}
	}
}

func clusterAddress(t *testing.T, b *bootstrapv3.Bootstrap, name string) (string, int) {
	t.Helper()
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == name {
			sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
			return sa.GetAddress(), int(sa.GetPortValue())
		}
	}
	t.Fatalf("no cluster %s", name)
	return "", 0
}

func credentialFiles(f *config.File) []string {
	var files []string
	add := func(c config.Credential) {
		if c.File != "" {
			files = append(files, c.File)
		}
	}
	for _, p := range f.Profiles {
		if p.LLM != nil {
			add(p.LLM.Credential)
			for _, c := range p.LLM.AgentCredentials {
				add(c)
			}
		}
		if p.Webhook != nil {
			add(p.Webhook.Secret)
		}
	}
	return files
}

func mustRead(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameKeys(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keysOf(m map[int]bool) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
