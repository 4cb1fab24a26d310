package engine

import (
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/inspect/classifier"
	"github.com/agentguard/agentguard/pkg/inspect/injection"
	"github.com/agentguard/agentguard/pkg/inspect/pii"
	"github.com/agentguard/agentguard/pkg/inspect/secrets"
)

// buildDetectors builds the detectors the profiles use, once per load:
// compiling the secret rules and loading the injection model are done
// here, never per request. nil when no profile inspects anything.
func buildDetectors(f *config.File) (*inspect.Set, error) {
	used := map[string]bool{}
	for _, p := range f.Profiles {
		for n := range p.Inspect.Request {
			used[n] = true
		}
		for n := range p.Inspect.Response {
			used[n] = true
		}
	}
	if len(used) == 0 {
		return nil, nil
	}
	key, err := hashKey(f.Detectors.HashKey)
	if err != nil {
		return nil, err
	}
	var ds []inspect.Detector
	d := &f.Detectors
	if used[config.DetectSecrets] {
		def, err := secrets.DefaultRules()
		if err != nil {
			return nil, fmt.Errorf("detectors.secrets: %w", err)
		}
		sets := []*secrets.Rules{def}
		for _, path := range d.Secrets.ExtraRules {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("detectors.secrets.extra_rules: %w", err)
			}
			rs, err := secrets.Load(data)
			if err != nil {
				return nil, fmt.Errorf("detectors.secrets.extra_rules: %s: %w", path, err)
			}
			sets = append(sets, rs)
		}
		s, err := secrets.New(sets...)
		if err != nil {
			return nil, fmt.Errorf("detectors.secrets: %w", err)
		}
		ds = append(ds, s)
	}
	if used[config.DetectPII] {
		p, err := pii.New(pii.Options{Entities: d.PII.Entities})
		if err != nil {
			return nil, fmt.Errorf("detectors.pii: %w", err)
		}
		ds = append(ds, p)
	}
	if used[config.DetectInjection] {
		in, err := injection.New(injection.Options{Threshold: d.Inject.Threshold})
		if err != nil {
			return nil, fmt.Errorf("detectors.injection: %w", err)
		}
		ds = append(ds, in)
	}
	if used[config.DetectClassifier] {
		c, err := classifier.New(classifier.Options{URL: d.Classifier.URL,
			Timeout: time.Duration(d.Classifier.Timeout), Threshold: d.Classifier.Threshold})
		if err != nil {
			return nil, fmt.Errorf("detectors.classifier: %w", err)
		}
		ds = append(ds, c)
	}
	return inspect.NewSet(key, ds...), nil
}

// hashKey is the key of finding hashes: the configured one, else a random
// key for this load.
func hashKey(c config.Credential) ([]byte, error) {
	if c.File != "" || c.Env != "" {
		s, err := c.Source().Credential()
		if err != nil {
			return nil, fmt.Errorf("detectors.hash_key: %w", err)
		}
		return []byte(s.Reveal()), nil
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k, nil
}
