package injection

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math"
	"strings"
	"testing"
)

func TestDefaultModel(t *testing.T) {
	m, err := DefaultModel()
	if errors.Is(err, ErrNoModel) {
		t.Fatal("no embedded model: run make train")
	}
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header()
	if h.Threshold <= 0 || h.Threshold >= 1 || h.TrainingDataSHA256 == "" || h.Trained == "" {
		t.Errorf("header %+v", h)
	}
}

// smallModel is a valid 10-bit model and its two files.
func smallModel(t *testing.T) (header, weights []byte) {
	t.Helper()
	f := DefaultFeatures()
	f.Bits = 10
	w := make([]float32, 1<<f.Bits)
	for i := range w {
		w[i] = float32(i%7) / 10
	}
	m, err := NewModel(Header{Features: f, Threshold: 0.5, Trained: "2025-01-01", TrainingDataSHA256: "x"}, -1, w)
	if err != nil {
		t.Fatal(err)
	}
	header, weights, err = m.Files()
	if err != nil {
		t.Fatal(err)
	}
	return header, weights
}

// resum rewrites the CRC and the header's digest after a change to the
// weights, so that the check under test is the one that fails.
func resum(t *testing.T, header, weights []byte) []byte {
	t.Helper()
	n := len(weights) - 4
	binary.LittleEndian.PutUint32(weights[n:], crc32.ChecksumIEEE(weights[:n]))
	sum := sha256.Sum256(weights)
	i := bytes.Index(header, []byte(`"weights_sha256": "`))
	if i < 0 {
		t.Fatal("no digest in header")
	}
	i += len(`"weights_sha256": "`)
	out := append([]byte(nil), header...)
	copy(out[i:], hex.EncodeToString(sum[:]))
	return out
}

func TestLoadModelErrors(t *testing.T) {
	header, weights := smallModel(t)
	if _, err := LoadModel(header, weights); err != nil {
		t.Fatalf("valid model: %v", err)
	}
	clone := func(b []byte) []byte { return append([]byte(nil), b...) }
	le := binary.LittleEndian
	for _, c := range []struct {
		name string
		edit func(h, w []byte) ([]byte, []byte)
		want string
	}{
		{"empty header", func(h, w []byte) ([]byte, []byte) { return nil, w }, "model header"},
		{"unknown header field", func(h, w []byte) ([]byte, []byte) {
			return bytes.Replace(h, []byte(`{`), []byte(`{"extra": 1,`), 1), w
		}, "unknown field"},
		{"wrong format", func(h, w []byte) ([]byte, []byte) {
			return bytes.Replace(h, []byte(formatName), []byte("other"), 1), w
		}, "format"},
		{"newer header version", func(h, w []byte) ([]byte, []byte) {
			return bytes.Replace(h, []byte(`"version": 1`), []byte(`"version": 2`), 1), w
		}, "version 2"},
		{"threshold out of range", func(h, w []byte) ([]byte, []byte) {
			return bytes.Replace(h, []byte(`"threshold": 0.5`), []byte(`"threshold": 1.5`), 1), w
		}, "threshold"},
		{"bad features", func(h, w []byte) ([]byte, []byte) {
			return bytes.Replace(h, []byte(`"bits": 10`), []byte(`"bits": 40`), 1), w
		}, "bits 40"},
		{"truncated weights", func(h, w []byte) ([]byte, []byte) { return h, w[:len(w)-8] }, "bytes, want"},
		{"no weights", func(h, w []byte) ([]byte, []byte) { return h, nil }, "bytes, want"},
		{"digest mismatch", func(h, w []byte) ([]byte, []byte) { w[20] ^= 1; return h, w }, "sha256"},
		{"bad magic", func(h, w []byte) ([]byte, []byte) { w[0] = 'X'; return resum(t, h, w), w }, "magic"},
		{"newer file version", func(h, w []byte) ([]byte, []byte) { le.PutUint32(w[4:], 9); return resum(t, h, w), w }, "version 9"},
		{"bits mismatch", func(h, w []byte) ([]byte, []byte) { le.PutUint32(w[8:], 11); return resum(t, h, w), w }, "11 bits"},
		{"checksum mismatch", func(h, w []byte) ([]byte, []byte) {
			w[20] ^= 1
			h = resum(t, h, w)
			w[len(w)-1] ^= 1 // the CRC no longer matches; fix the digest for it
			sum := sha256.Sum256(w)
			i := bytes.Index(h, []byte(`"weights_sha256": "`)) + len(`"weights_sha256": "`)
			copy(h[i:], hex.EncodeToString(sum[:]))
			return h, w
		}, "checksum"},
		{"NaN weight", func(h, w []byte) ([]byte, []byte) {
			le.PutUint32(w[16+4*3:], math.Float32bits(float32(math.NaN())))
			return resum(t, h, w), w
		}, "not finite"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, w := c.edit(clone(header), clone(weights))
			_, err := LoadModel(h, w)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestNewModelErrors(t *testing.T) {
	f := DefaultFeatures()
	if _, err := NewModel(Header{Features: f}, 0, make([]float32, 3)); err == nil {
		t.Error("wrong weight count accepted")
	}
	f.WindowWords = 1
	if _, err := NewModel(Header{Features: f}, 0, make([]float32, 1<<f.Bits)); err == nil {
		t.Error("bad features accepted")
	}
}

// TestModelRoundTrip checks that a model written and read back scores the
// same.
func TestModelRoundTrip(t *testing.T) {
	header, weights := smallModel(t)
	m, err := LoadModel(header, weights)
	if err != nil {
		t.Fatal(err)
	}
	h2, w2, err := m.Files()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h2, header) || !bytes.Equal(w2, weights) {
		t.Error("files differ after a round trip")
	}
}
