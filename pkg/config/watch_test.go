package config_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentguard/agentguard/pkg/config"
)

// Generous bounds: these tests wait for events, they never time them.
const (
	fireTimeout = 10 * time.Second
	quietPeriod = time.Second // how long "no reload" is watched for
)

func version(n int) []byte {
	return fmt.Appendf(nil, "failure_mode: closed\n# version %d\n", n)
}

// change puts content into place at path by one update mechanism.
type change func(t *testing.T, path string, content []byte)

func rewrite(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameOver writes a sibling and renames it over path, as editors and
// config-management tools do.
func renameOver(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// symlinkSwap updates a Kubernetes-style ConfigMap mount:
//
//	dir/config.yaml -> ..data/config.yaml
//	dir/..data      -> ..<timestamp>/
//
// by writing a new timestamped directory and renaming a fresh ..data symlink
// over the old one. The file path itself is never written.
func symlinkSwap(t *testing.T, path string, content []byte) {
	t.Helper()
	dir := filepath.Dir(path)
	ts, err := os.MkdirTemp(dir, "..ts_")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, filepath.Base(path)), content, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	// The file's own symlink exists from the first swap on.
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", filepath.Base(path)), path); err != nil {
			t.Fatal(err)
		}
	}
}

type watchRun struct {
	path   string
	fired  chan struct{}
	done   chan error
	cancel context.CancelFunc
}

func startWatch(t *testing.T, path string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchRun{path: path, fired: make(chan struct{}, 64), done: make(chan error, 1), cancel: cancel}
	log := slog.New(slog.DiscardHandler)
	go func() {
		w.done <- config.Watch(ctx, path, log, func() {
			select {
			case w.fired <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("Watch returned %v after cancel", err)
			}
		case <-time.After(fireTimeout):
			t.Error("Watch did not return after its context was cancelled")
		}
	})
	return w
}

// ready makes distinct changes until one is seen (Watch gives no signal that
// its watch is in place), then waits for the reloads to stop. It returns the
// next unused version number.
func (w *watchRun) ready(t *testing.T, ch change) int {
	t.Helper()
	deadline := time.After(fireTimeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	n := 1
	ch(t, w.path, version(n))
wait:
	for {
		select {
		case <-w.fired:
			break wait
		case <-tick.C:
			n++
			ch(t, w.path, version(n))
		case <-deadline:
			t.Fatal("no reload: the watch never saw a change")
		}
	}
	w.settle()
	return n + 1
}

// settle drains reloads until none arrives for a while.
func (w *watchRun) settle() {
	for {
		select {
		case <-w.fired:
		case <-time.After(quietPeriod / 2):
			return
		}
	}
}

func (w *watchRun) expectReload(t *testing.T, what string) {
	t.Helper()
	select {
	case <-w.fired:
	case <-time.After(fireTimeout):
		t.Fatalf("%s: reload was not called", what)
	}
}

func (w *watchRun) expectNoReload(t *testing.T, what string) {
	t.Helper()
	select {
	case <-w.fired:
		t.Fatalf("%s: reload was called", what)
	case <-time.After(quietPeriod):
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ch   change
		// setup creates the initial file; nil writes it in place.
		setup func(t *testing.T, path string)
	}{
		{name: "rewrite", ch: rewrite},
		{name: "atomic rename", ch: renameOver},
		{name: "kubernetes symlink swap", ch: symlinkSwap, setup: func(t *testing.T, path string) {
			symlinkSwap(t, path, version(0))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "config.yaml")
			if tt.setup != nil {
				tt.setup(t, path)
			} else {
				rewrite(t, path, version(0))
			}
			w := startWatch(t, path)
			n := w.ready(t, tt.ch)

			tt.ch(t, path, version(n))
			w.expectReload(t, "new content")
			w.settle()

			tt.ch(t, path, version(n))
			w.expectNoReload(t, "identical content")

			tt.ch(t, path, version(n+1))
			w.expectReload(t, "new content after an identical rewrite")
		})
	}
}

func TestWatchUnrelatedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	rewrite(t, path, version(0))
	w := startWatch(t, path)
	w.ready(t, rewrite)
	// A neighbour in the watched directory changes; the config does not.
	rewrite(t, filepath.Join(dir, "other.yaml"), []byte("x: 1\n"))
	w.expectNoReload(t, "a sibling file changed")
}

func TestWatchMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "config.yaml")
	err := config.Watch(context.Background(), path, slog.New(slog.DiscardHandler), func() {
		t.Error("reload called")
	})
	if err == nil {
		t.Fatal("Watch of a file in a missing directory returned nil")
	}
}
