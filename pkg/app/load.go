package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/policies"
)

// loadRuntime reads the config at path (the embedded default when empty)
// and compiles it. The hash identifies the content in logs and metrics.
func loadRuntime(path string) (*engine.Runtime, string, error) {
	name, data := policies.CodeReviewName, policies.CodeReview
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("read config: %w", err)
		}
		name, data = path, b
	}
	rt, err := engine.LoadFile(name, data)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return rt, hex.EncodeToString(sum[:6]), nil
}

func validate(args []string, env Env) int {
	fs := newFlags("validate", env)
	path := fs.String("config", "", "config file (default: the embedded default deployment)")
	if fs.Parse(args) != nil {
		return 2
	}
	rt, hash, err := loadRuntime(*path)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s: ok (%d profiles: %v, sha256 %s)\n", rt.Source, len(rt.Profiles()), rt.Profiles(), hash)
	return 0
}
