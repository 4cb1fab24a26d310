package stack

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

// envoyBinary is a real Envoy to run, when there is one: ENVOY_BIN, else
// envoy on the PATH. None exists on the development machines; this path has
// not been exercised there (see the README).
func envoyBinary() string {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("envoy")
	if err != nil {
		return ""
	}
	return p
}

// realEnvoy is a running Envoy process.
type realEnvoy struct {
	cmd   *exec.Cmd
	ports map[uint32]uint32 // configured listener port → actual
}

func (e *realEnvoy) Addr(port uint32) string {
	return fmt.Sprintf("127.0.0.1:%d", e.ports[port])
}

func (e *realEnvoy) Close() error {
	_ = e.cmd.Process.Kill()
	_ = e.cmd.Wait()
	return nil
}

// startEnvoy rewrites the bootstrap's listener ports to free ones and its
// clusters' endpoints to the test's servers, then runs Envoy on it.
func startEnvoy(t testing.TB, bin string, b *bootstrapv3.Bootstrap, clusters map[string]string) front {
	t.Helper()
	e := &realEnvoy{ports: map[uint32]uint32{}}
	for _, l := range b.GetStaticResources().GetListeners() {
		sa := l.GetAddress().GetSocketAddress()
		free := freePort(t)
		e.ports[sa.GetPortValue()] = free
		sa.Address, sa.PortSpecifier = "127.0.0.1", &corev3.SocketAddress_PortValue{PortValue: free}
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		addr, ok := clusters[c.GetName()]
		if !ok {
			continue
		}
		host, port := splitHostPort(t, addr)
		for _, le := range c.GetLoadAssignment().GetEndpoints() {
			for _, ep := range le.GetLbEndpoints() {
				sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
				sa.Address, sa.PortSpecifier = host, &corev3.SocketAddress_PortValue{PortValue: port}
			}
		}
	}
	adminPort := freePort(t)
	if a := b.GetAdmin().GetAddress().GetSocketAddress(); a != nil {
		a.Address, a.PortSpecifier = "127.0.0.1", &corev3.SocketAddress_PortValue{PortValue: adminPort}
	}
	js, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "envoy.json")
	if err := os.WriteFile(cfg, js, 0o600); err != nil {
		t.Fatal(err)
	}
	e.cmd = exec.Command(bin, "-c", cfg, "--base-id", fmt.Sprint(adminPort), "--log-level", "warn")
	e.cmd.Stdout, e.cmd.Stderr = os.Stderr, os.Stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ready := fmt.Sprintf("http://127.0.0.1:%d/ready", adminPort)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				// Listeners are up once Envoy says it is ready.
				for _, p := range e.ports {
					if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
						c.Close()
					}
				}
				return e
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("envoy %s did not become ready", bin)
	return nil
}
