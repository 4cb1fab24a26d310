package credentials

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrNoCredential is returned when no source yields a value.
var ErrNoCredential = errors.New("no credential available")

// Source yields a credential.
type Source interface {
	Credential() (Secret, error)
	// Describe names where the credential comes from, never its value.
	Describe() string
}

// FileSource reads a credential from a file and reads it again when the
// file changes (Kubernetes rotates a mounted Secret by swapping a symlink,
// which changes what stat sees). It checks at most once per interval.
type FileSource struct {
	path     string
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	val     Secret
	err     error
	checked time.Time
	stamp   fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

var _ Source = (*FileSource)(nil)

// File returns a source reading path, re-checked at most once a second.
func File(path string) *FileSource {
	return &FileSource{path: path, interval: time.Second, now: time.Now}
}

// Credential returns the file's content without surrounding white space.
func (f *FileSource) Credential() (Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if !f.checked.IsZero() && now.Sub(f.checked) < f.interval {
		return f.val, f.err
	}
	f.checked = now
	st, err := os.Stat(f.path)
	if err != nil {
		f.val, f.err, f.stamp = Secret{}, fmt.Errorf("credential file %s: %w", f.path, errors.Unwrap(err)), fileStamp{}
		return f.val, f.err
	}
	stamp := fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	if stamp == f.stamp && f.err == nil {
		return f.val, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		// Name the file, not the value; errors.Unwrap drops the path twice.
		f.val, f.err = Secret{}, fmt.Errorf("credential file %s: %w", f.path, errors.Unwrap(err))
		return f.val, f.err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		f.val, f.err = Secret{}, fmt.Errorf("credential file %s is empty: %w", f.path, ErrNoCredential)
		return f.val, f.err
	}
	f.val, f.err, f.stamp = Secret{v: v}, nil, stamp
	return f.val, nil
}

// Describe names the file.
func (f *FileSource) Describe() string { return "file " + f.path }

// EnvSource reads an environment variable once, when built: the process
// environment does not change under a running process.
type EnvSource struct {
	name string
	val  Secret
}

var _ Source = (*EnvSource)(nil)

// Env returns a source for the variable name, read now.
func Env(name string) *EnvSource {
	return &EnvSource{name: name, val: Secret{v: strings.TrimSpace(os.Getenv(name))}}
}

// Credential returns the variable's value.
func (e *EnvSource) Credential() (Secret, error) {
	if e.val.IsZero() {
		return Secret{}, fmt.Errorf("environment variable %s is not set: %w", e.name, ErrNoCredential)
	}
	return e.val, nil
}

// Describe names the variable.
func (e *EnvSource) Describe() string { return "env " + e.name }

// FirstOf tries sources in order and returns the first value found.
type FirstOf []Source

var _ Source = FirstOf(nil)

// Credential returns the first source's value that exists.
func (fs FirstOf) Credential() (Secret, error) {
	var errs []error
	for _, s := range fs {
		v, err := s.Credential()
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return Secret{}, ErrNoCredential
	}
	return Secret{}, errors.Join(errs...)
}

// Describe lists the sources.
func (fs FirstOf) Describe() string {
	parts := make([]string, len(fs))
	for i, s := range fs {
		parts[i] = s.Describe()
	}
	return strings.Join(parts, ", then ")
}
