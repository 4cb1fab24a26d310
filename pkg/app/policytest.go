package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agentguard/agentguard/pkg/engine"
)

// A policy test file (*_test.yaml) holds request → expected decision cases,
// kept beside the policies they test, as `opa test` does.
type testFile struct {
	// Config is the config under test, relative to the test file; empty
	// means the embedded default deployment.
	Config string `yaml:"config"`
	// Env is set while the file runs (and restored after): fake provider
	// keys for profiles that read theirs from the environment.
	Env   map[string]string `yaml:"env"`
	Cases []testCase        `yaml:"cases"`
}

type testCase struct {
	Name     string            `yaml:"name"`
	Profile  string            `yaml:"profile"`
	Port     int               `yaml:"port"`
	Method   string            `yaml:"method"`
	Path     string            `yaml:"path"`
	Headers  map[string]string `yaml:"headers"`
	Body     string            `yaml:"body"`
	BodyFile string            `yaml:"body_file"`
	Expect   struct {
		Decision string `yaml:"decision"`
		Rule     string `yaml:"rule"`
		Status   int    `yaml:"status"`
		// BodyContains are substrings the reply body must contain.
		BodyContains []string `yaml:"body_contains"`
		// BodyNotContains are substrings neither the reply nor the body
		// sent upstream may contain (a secret that must not leave).
		BodyNotContains []string `yaml:"body_not_contains"`
		// Headers are headers agentguard must set on the request.
		Headers map[string]string `yaml:"headers"`
		// Removed are headers agentguard must remove from the request.
		Removed []string `yaml:"removed"`
	} `yaml:"expect"`
}

func testCmd(ctx context.Context, args []string, env Env) int {
	fs := newFlags("test", env)
	verbose := fs.Bool("v", false, "print every case")
	if fs.Parse(args) != nil {
		return 2
	}
	files, err := testFiles(fs.Args())
	if err != nil || len(files) == 0 {
		fmt.Fprintln(env.Stderr, "agentguard test: no *_test.yaml files found", err)
		return 2
	}
	passed, failed := 0, 0
	for _, f := range files {
		p, fl, err := runTestFile(ctx, f, *verbose, env)
		if err != nil {
			fmt.Fprintf(env.Stdout, "FAIL %s: %v\n", f, err)
			failed++
			continue
		}
		passed += p
		failed += fl
	}
	fmt.Fprintf(env.Stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func testFiles(args []string) ([]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, "_test.yaml") {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

func runTestFile(ctx context.Context, path string, verbose bool, env Env) (int, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var tf testFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return 0, 0, fmt.Errorf("decode: %w", err)
	}
	for k, v := range tf.Env {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		defer func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		}()
	}
	cfg := ""
	if tf.Config != "" {
		cfg = filepath.Join(filepath.Dir(path), tf.Config)
	}
	rt, _, err := loadRuntime(cfg)
	if err != nil {
		return 0, 0, err
	}
	e := engine.New(rt, engine.Options{})
	passed, failed := 0, 0
	for _, c := range tf.Cases {
		problems, err := runCase(ctx, e, path, &c)
		if err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) == 0 {
			passed++
			if verbose {
				fmt.Fprintf(env.Stdout, "ok   %s: %s\n", path, c.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(env.Stdout, "FAIL %s: %s\n", path, c.Name)
		for _, p := range problems {
			fmt.Fprintf(env.Stdout, "     %s\n", p)
		}
	}
	return passed, failed, nil
}

func runCase(ctx context.Context, e *engine.Engine, path string, c *testCase) ([]string, error) {
	var body []byte
	switch {
	case c.BodyFile != "":
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), c.BodyFile))
		if err != nil {
			return nil, err
		}
		body = b
	case c.Body != "":
		body = []byte(c.Body)
	}
	var hs []string
	for k, v := range c.Headers {
		hs = append(hs, k+": "+v)
	}
	p := c.Path
	if p == "" {
		p = "/mcp"
	}
	h, err := buildHeaders(hs, c.Method, p, "localhost", body != nil)
	if err != nil {
		return nil, err
	}
	out := e.Evaluate(ctx, engine.Meta{Profile: c.Profile, DestinationPort: c.Port}, h, body)
	var problems []string
	if c.Expect.Decision == "" {
		problems = append(problems, "expect.decision is required")
	} else if out.Decision != c.Expect.Decision {
		problems = append(problems, fmt.Sprintf("decision %s, want %s (rule %q, reason %q, error %v)", out.Decision, c.Expect.Decision, out.Rule, out.Reason, out.Err))
	}
	if c.Expect.Rule != "" && out.Rule != c.Expect.Rule {
		problems = append(problems, fmt.Sprintf("rule %q, want %q", out.Rule, c.Expect.Rule))
	}
	if c.Expect.Status != 0 && out.Status != c.Expect.Status {
		problems = append(problems, fmt.Sprintf("status %d, want %d", out.Status, c.Expect.Status))
	}
	for name, want := range c.Expect.Headers {
		got, found := "", false
		for _, h := range out.Headers {
			if h.Name == name {
				got, found = h.Value, true
			}
		}
		if !found || got != want {
			problems = append(problems, fmt.Sprintf("header %s not set to the expected value", name))
		}
	}
	for _, name := range c.Expect.Removed {
		if !slices.Contains(out.Remove, name) {
			problems = append(problems, fmt.Sprintf("header %s not removed", name))
		}
	}
	for _, s := range c.Expect.BodyContains {
		if out.Reply == nil || !strings.Contains(string(out.Reply.Body), s) {
			problems = append(problems, fmt.Sprintf("reply body lacks %q", s))
		}
	}
	for _, s := range c.Expect.BodyNotContains {
		if out.Reply != nil && strings.Contains(string(out.Reply.Body), s) || strings.Contains(string(out.Body), s) {
			problems = append(problems, fmt.Sprintf("%q left agentguard", s))
		}
	}
	return problems, nil
}
