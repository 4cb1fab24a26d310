package kube

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The rendered Deployment's command line works with the built binary: the
// ConfigMap's config passes `agentguard validate`, and `agentguard` started
// with the Deployment's args (addresses moved to free loopback ports)
// answers the probes' paths on the health port and the scrape annotation's
// path on the metrics port.
func TestDeploymentArgsServe(t *testing.T) {
	d := loadBase(t, "base")
	dir := t.TempDir()
	bin := filepath.Join(dir, "agentguard")
	if out, err := goCmd(repoRoot, "build", "-o", bin, "./cmd/agentguard"); err != nil {
		t.Fatalf("building agentguard: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "agentguard.yaml")
	if err := os.WriteFile(cfgPath, []byte(d.cfgData), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "validate", "-config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("agentguard validate on the ConfigMap's config: %v\n%s", err, out)
	}

	// The Deployment's args, with the config at its temporary path and each
	// address on a free loopback port (the pod's ports may be taken here).
	addrs := map[string]int{}
	var args []string
	for _, a := range d.args {
		s := a.(string)
		name, _, ok := strings.Cut(strings.TrimLeft(s, "-"), "=")
		switch {
		case ok && name == "config":
			s = "-config=" + cfgPath
		case ok && strings.HasSuffix(name, "-addr"):
			addrs[name] = freePort(t)
			s = "-" + name + "=127.0.0.1:" + strconv.Itoa(addrs[name])
		}
		args = append(args, s)
	}
	if args[0] != "serve" {
		t.Fatalf("container args %v do not start with serve", args)
	}

	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	health := "http://127.0.0.1:" + strconv.Itoa(addrs["health-addr"])
	ready := str(d.container, "readinessProbe", "httpGet", "path")
	if err := waitOK(health+ready, 30*time.Second); err != nil {
		t.Fatalf("readiness probe %s: %v\nagentguard output:\n%s", ready, err, logs.String())
	}
	for _, probe := range []string{"startupProbe", "livenessProbe"} {
		p := str(d.container, probe, "httpGet", "path")
		if err := waitOK(health+p, 5*time.Second); err != nil {
			t.Errorf("%s %s: %v", probe, p, err)
		}
	}
	metrics := "http://127.0.0.1:" + strconv.Itoa(addrs["metrics-addr"]) + str(d.pod, "metadata", "annotations", "prometheus.io/path")
	if err := waitOK(metrics, 5*time.Second); err != nil {
		t.Errorf("scrape path: %v", err)
	}
}

// waitOK polls url until it answers 200 or d passes.
func waitOK(url string, d time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return last
}
