package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestZZDump(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, err := Parse(f, data)
		var es Errors
		errors.As(err, &es)
		t.Logf("== %s (%d)", f, len(es))
		for _, e := range es {
			t.Logf("   L%d %q %q", e.Line, e.Path, e.Msg)
		}
	}
}
