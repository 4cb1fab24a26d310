package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// result is one line of `dryrun apply` (tools/kube/dryrun/apply.go).
type result struct {
	Source     string   `json:"source"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	DryRun     bool     `json:"dryRun"`
	OK         bool     `json:"ok"`
	Error      string   `json:"error"`
	Warnings   []string `json:"warnings"`
}

func (r result) String() string {
	return r.Source + ": " + r.Kind + " " + r.Namespace + "/" + r.Name
}

// goodSources are what a user applies: every kustomization, and the Secret
// template (documented, so it must be valid too).
var goodSources = []string{
	"manifests/base",
	"manifests/overlays/ambient",
	"manifests/overlays/standalone",
	"manifests/base/secret.template.yaml",
}

// TestServerDryRun applies every object of manifests/ to a real API server
// (dryRun=All, fieldValidation=Strict, Gateway API and Istio CRDs
// installed): each must be accepted without a warning. Each file of
// testdata/broken must be refused with the error its "# want:" line names.
func TestServerDryRun(t *testing.T) {
	etcd, err := findEtcd()
	if err != nil {
		unavailable(t, "%v", err)
	}
	apiserver, err := findAPIServer()
	if err != nil {
		unavailable(t, "%v", err)
	}
	dryrun := dryrunBinary(t)
	crds := crdPaths(t)

	broken, err := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if err != nil || len(broken) == 0 {
		t.Fatalf("no testdata/broken/*.yaml (%v)", err)
	}

	start := time.Now()
	c := startCluster(t, etcd, apiserver)
	t.Logf("kube-apiserver ready in %s", time.Since(start).Round(time.Millisecond))

	args := []string{"apply", "-kubeconfig", c.Kubeconfig}
	for _, p := range crds {
		args = append(args, "-crds", p)
	}
	for _, s := range goodSources {
		args = append(args, filepath.Join(repoRoot, s))
	}
	args = append(args, broken...)

	ctx, cancel := ctxFor(t, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dryrun, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dryrun apply: %v\n%s", err, stderr.String())
	}
	results := parseResults(t, out)

	bySource := map[string][]result{}
	for _, r := range results {
		bySource[r.Source] = append(bySource[r.Source], r)
	}

	for _, s := range goodSources {
		s := s
		t.Run(s, func(t *testing.T) {
			rs := bySource[filepath.Join(repoRoot, s)]
			if len(rs) == 0 {
				t.Fatalf("no object applied from %s", s)
			}
			for _, r := range rs {
				if !r.OK {
					t.Errorf("%s refused: %s", r, r.Error)
				}
				for _, w := range r.Warnings {
					t.Errorf("%s: warning: %s", r, w)
				}
			}
			t.Logf("%d objects accepted", len(rs))
		})
	}

	for _, f := range broken {
		f := f
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := wantLine(t, f)
			var refused []result
			for _, r := range bySource[f] {
				if !r.OK {
					refused = append(refused, r)
				}
			}
			if len(refused) == 0 {
				t.Fatalf("%s was accepted: the API server check does not catch %q", f, want)
			}
			for _, r := range refused {
				if strings.Contains(r.Error, want) {
					t.Logf("refused: %s", r.Error)
					return
				}
			}
			t.Errorf("%s refused, but not for %q: %s", f, want, refused[0].Error)
		})
	}
}

func parseResults(t *testing.T, out []byte) []result {
	t.Helper()
	var rs []result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dryrun output %q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Source < rs[j].Source })
	return rs
}

// wantLine returns the text after "# want: " in f: a part of the error the
// API server must give.
func wantLine(t *testing.T, f string) string {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			return strings.TrimSpace(w)
		}
	}
	t.Fatalf("%s has no '# want: ' line", f)
	return ""
}
