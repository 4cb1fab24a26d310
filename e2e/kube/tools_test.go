package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoRoot is agentguard's checkout, two levels above this package.
var repoRoot = filepath.Join("..", "..")

func kubeModule() string { return filepath.Join(repoRoot, "tools", "kube") }

// unavailable ends a test that lacks a tool it cannot build itself: in CI
// that is a failure (never skip silently there), elsewhere a loud skip.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: run 'bash scripts/kube.sh' first; make test does)", msg)
	}
	t.Skipf("SKIPPED, NOT VALIDATED against a real API server: %s; run 'bash scripts/kube.sh' to install etcd and build kube-apiserver", msg)
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// findEtcd returns ETCD_BIN, etcd on PATH, or Debian's /usr/bin/etcd.
func findEtcd() (string, error) {
	if p := os.Getenv("ETCD_BIN"); p != "" {
		return executable(p)
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd", nil
	}
	return "", errors.New("etcd not found (ETCD_BIN, PATH, /usr/bin/etcd)")
}

// findAPIServer returns KUBE_APISERVER or the binary scripts/kube.sh caches
// for the k8s.io/kubernetes version tools/kube/go.mod requires.
func findAPIServer() (string, error) {
	if p := os.Getenv("KUBE_APISERVER"); p != "" {
		return executable(p)
	}
	out, err := goCmd(kubeModule(), "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	return executable(filepath.Join(cache, "agentguard", "kube", strings.TrimSpace(string(out)), "kube-apiserver"))
}

func executable(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}

var dryrunOnce struct {
	sync.Once
	dir  string
	path string
	err  error
}

// dryrunBinary builds tools/kube/dryrun once per test binary (quick when
// scripts/kube.sh has warmed the build cache) so it is never stale.
func dryrunBinary(t *testing.T) string {
	t.Helper()
	dryrunOnce.Do(func() {
		dryrunOnce.dir, dryrunOnce.err = os.MkdirTemp("", "agentguard-dryrun-")
		if dryrunOnce.err != nil {
			return
		}
		dryrunOnce.path = filepath.Join(dryrunOnce.dir, "dryrun")
		_, dryrunOnce.err = goCmd(kubeModule(), "build", "-o", dryrunOnce.path, "./dryrun")
	})
	if dryrunOnce.err != nil {
		t.Fatalf("building tools/kube/dryrun: %v", dryrunOnce.err)
	}
	return dryrunOnce.path
}

// moduleDir returns the module cache directory of path@version, fetching it
// through the module proxy when it is not cached yet. In dir (a module),
// version "" means the version dir's go.mod requires.
func moduleDir(dir, path, version string) (string, error) {
	arg := path
	if version != "" {
		arg += "@" + version
	}
	out, err := goCmd(dir, "mod", "download", "-json", arg)
	if err != nil {
		return "", err
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", arg, m.Error)
	}
	return m.Dir, nil
}

// crdPaths are the Gateway API standard CRDs and Istio's CRDs.
func crdPaths(t *testing.T) []string {
	t.Helper()
	gw, err := moduleDir(repoRoot, "sigs.k8s.io/gateway-api", GatewayAPIVersion)
	if err != nil {
		t.Fatal(err)
	}
	istio, err := moduleDir(kubeModule(), "istio.io/api", "")
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		filepath.Join(gw, "config", "crd", "standard"),
		filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
	}
}

// render runs kustomize (through dryrun) on a directory of manifests/.
func render(t *testing.T, rel string) []byte {
	t.Helper()
	cmd := exec.Command(dryrunBinary(t), "render", filepath.Join(repoRoot, "manifests", rel))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rendering manifests/%s: %v\n%s", rel, err, stderr.String())
	}
	return out
}

// TestMain removes the validator binary built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if dryrunOnce.dir != "" {
		os.RemoveAll(dryrunOnce.dir)
	}
	os.Exit(code)
}
