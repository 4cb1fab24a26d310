package config

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls reload whenever the file at path changes content, until ctx
// ends. It watches the directory, not the file, because Kubernetes updates a
// mounted ConfigMap by swapping a symlink, which a file watch would miss.
// Events are debounced; reload sees each distinct content once.
func Watch(ctx context.Context, path string, log *slog.Logger, reload func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(path)); err != nil {
		return err
	}
	last := digest(path)
	const settle = 100 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("config watch error", "err", err)
		case <-w.Events:
			timer.Reset(settle)
		case <-timer.C:
			// A file that is briefly absent (mid-swap) is not a change.
			if d := digest(path); d != ([32]byte{}) && d != last {
				last = d
				reload()
			}
		}
	}
}

func digest(path string) [32]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(data)
}
