package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const key = "sk-test-SECRETVALUE0123456789"

func TestSecretNeverPrints(t *testing.T) {
	s := Secret{v: key}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %+v %#v %s %q", s, s, s, s, s)
	j, _ := json.Marshal(struct{ K Secret }{s})
	b.Write(j)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "k", s)
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "k", s)
	if strings.Contains(b.String(), "SECRETVALUE") {
		t.Fatalf("secret printed: %s", b.String())
	}
	if s.Reveal() != key {
		t.Fatal("Reveal")
	}
}

func TestFileSourceRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	f := File(path)
	f.now = func() time.Time { return now }
	v, err := f.Credential()
	if err != nil || v.Reveal() != key {
		t.Fatalf("%v %v", v.Reveal(), err)
	}
	// Rotated like a Kubernetes Secret: a new file swapped in by rename.
	tmp := filepath.Join(dir, "key.new")
	if err := os.WriteFile(tmp, []byte("sk-rotated-value-but-longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Credential(); v.Reveal() != key {
		t.Error("re-read before the check interval")
	}
	now = now.Add(2 * time.Second)
	if v, err := f.Credential(); err != nil || v.Reveal() != "sk-rotated-value-but-longer" {
		t.Errorf("not re-read after rotation: %v", err)
	}
	// Removed: an error naming the file, not the value.
	os.Remove(path)
	now = now.Add(2 * time.Second)
	_, err = f.Credential()
	if err == nil || strings.Contains(err.Error(), "rotated") || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: %v", err)
	}
	// Empty.
	os.WriteFile(path, []byte("  \n"), 0o600)
	now = now.Add(2 * time.Second)
	if _, err := f.Credential(); !errors.Is(err, ErrNoCredential) {
		t.Errorf("empty file: %v", err)
	}
}

func TestEnvAndFirstOf(t *testing.T) {
	t.Setenv("AGENTGUARD_TEST_KEY", key)
	src := FirstOf{File(filepath.Join(t.TempDir(), "absent")), Env("AGENTGUARD_TEST_KEY")}
	v, err := src.Credential()
	if err != nil || v.Reveal() != key {
		t.Fatalf("%v", err)
	}
	if d := src.Describe(); strings.Contains(d, "SECRET") || !strings.Contains(d, "env AGENTGUARD_TEST_KEY") {
		t.Errorf("describe %q", d)
	}
	none := FirstOf{Env("AGENTGUARD_TEST_UNSET_KEY")}
	if _, err := none.Credential(); !errors.Is(err, ErrNoCredential) {
		t.Errorf("unset: %v", err)
	}
}

func TestHeaders(t *testing.T) {
	s := Secret{v: key}
	if h := Headers(Bearer, s); len(h) != 1 || h[0].Name != "authorization" || h[0].Value != "Bearer "+key {
		t.Errorf("bearer %v", h)
	}
	if h := Headers(APIKey, s); len(h) != 1 || h[0].Name != "x-api-key" || h[0].Value != key {
		t.Errorf("api key %v", h)
	}
}
