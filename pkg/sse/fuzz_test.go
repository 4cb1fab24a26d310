package sse

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func FuzzScanner(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sse")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(len(b)/2), uint16(3))
	}
	f.Add([]byte("data: a\r\r\n"), uint16(8), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, at, step uint16) {
		whole, _, err := feedAll(t, len(in)+1, [][]byte{in})
		if err != nil {
			t.Fatal(err)
		}
		i := int(at) % (len(in) + 1)
		checkSplit(t, in, whole, split(in, i))

		// A second chunking with a fuzzed step, to catch state carried
		// over several Feeds.
		n := int(step)%64 + 1
		var chunks [][]byte
		for off := 0; off < len(in); off += n {
			chunks = append(chunks, in[off:min(off+n, len(in))])
		}
		checkSplit(t, in, whole, chunks)

		// A small limit must fail the same way whatever the chunking.
		lim := int(step)%32 + 1
		e1, _, err1 := feedAll(t, lim, [][]byte{in})
		e2, _, err2 := feedAll(t, lim, split(in, i))
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(e1, e2) {
			t.Fatalf("limit %d: whole %v %d events, split %v %d events", lim, err1, len(e1), err2, len(e2))
		}
	})
}
