package injection

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
)

// The model shipped with the binary, written by cmd/train-injection.
//
//go:embed model
var embedded embed.FS

// Names of the model's files, in the embedded directory and in the
// trainer's output directory.
const (
	HeaderFile  = "model.json"
	WeightsFile = "weights.bin"
)

// FormatVersion is the version of both model files this package reads.
const FormatVersion = 1

// weights.bin layout, little-endian: magic, version, bits (uint32 each),
// bias, 2^bits weights (float32 each), CRC-32 (IEEE) of all before it.
var magic = [4]byte{'A', 'G', 'P', 'I'}

const weightsOverhead = 4 + 4 + 4 + 4 + 4 // magic, version, bits, bias, crc

// Header is model.json: what the weights mean and where they came from.
type Header struct {
	Format    string   `json:"format"` // "agentguard-injection-logreg"
	Version   int      `json:"version"`
	Features  Features `json:"features"`
	Threshold float64  `json:"threshold"` // default decision threshold on the probability
	// Trained is the UTC date of training (YYYY-MM-DD).
	Trained string `json:"trained"`
	// TrainingDataSHA256 digests the training texts and labels, in order.
	TrainingDataSHA256 string `json:"training_data_sha256"`
	TrainingSamples    int    `json:"training_samples"`
	// WeightsSHA256 is the digest of weights.bin, checked on load.
	WeightsSHA256 string `json:"weights_sha256"`
	// Metrics are the trainer's cross-validated figures on the training
	// split, for the record.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

const formatName = "agentguard-injection-logreg"

// Model is a loaded logistic-regression model. Immutable.
type Model struct {
	header  Header
	bias    float32
	weights []float32
}

// ErrNoModel is returned by DefaultModel when the binary was built
// without trained weights.
var ErrNoModel = errors.New("injection: no embedded model (run make train)")

// DefaultModel loads the model embedded in the binary.
func DefaultModel() (*Model, error) {
	h, err1 := fs.ReadFile(embedded, "model/"+HeaderFile)
	w, err2 := fs.ReadFile(embedded, "model/"+WeightsFile)
	if errors.Is(err1, fs.ErrNotExist) || errors.Is(err2, fs.ErrNotExist) {
		return nil, ErrNoModel
	}
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("injection: embedded model: %w", err)
	}
	return LoadModel(h, w)
}

// LoadModel checks and loads a model from the bytes of its two files.
func LoadModel(header, weights []byte) (*Model, error) {
	var h Header
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("injection: model header: %w", err)
	}
	switch {
	case h.Format != formatName:
		return nil, fmt.Errorf("injection: model header: format %q, want %q", h.Format, formatName)
	case h.Version != FormatVersion:
		return nil, fmt.Errorf("injection: model header: version %d, this build reads %d", h.Version, FormatVersion)
	case !(h.Threshold > 0 && h.Threshold < 1):
		return nil, fmt.Errorf("injection: model header: threshold %v outside (0,1)", h.Threshold)
	}
	if err := h.Features.validate(); err != nil {
		return nil, fmt.Errorf("injection: model header: %w", err)
	}
	n := 1 << h.Features.Bits
	if want := weightsOverhead + 4*n; len(weights) != want {
		return nil, fmt.Errorf("injection: %s: %d bytes, want %d for %d-bit features", WeightsFile, len(weights), want, h.Features.Bits)
	}
	sum := sha256.Sum256(weights)
	if got := hex.EncodeToString(sum[:]); got != h.WeightsSHA256 {
		return nil, fmt.Errorf("injection: %s: sha256 %s, header says %s", WeightsFile, got, h.WeightsSHA256)
	}
	le := binary.LittleEndian
	body := weights[:len(weights)-4]
	switch {
	case !bytes.Equal(weights[:4], magic[:]):
		return nil, fmt.Errorf("injection: %s: bad magic %q", WeightsFile, weights[:4])
	case le.Uint32(weights[4:]) != FormatVersion:
		return nil, fmt.Errorf("injection: %s: version %d, this build reads %d", WeightsFile, le.Uint32(weights[4:]), FormatVersion)
	case le.Uint32(weights[8:]) != uint32(h.Features.Bits):
		return nil, fmt.Errorf("injection: %s: %d bits, header says %d", WeightsFile, le.Uint32(weights[8:]), h.Features.Bits)
	case crc32.ChecksumIEEE(body) != le.Uint32(weights[len(body):]):
		return nil, fmt.Errorf("injection: %s: checksum mismatch", WeightsFile)
	}
	m := &Model{header: h, weights: make([]float32, n)}
	m.bias = math.Float32frombits(le.Uint32(weights[12:]))
	for i := range m.weights {
		m.weights[i] = math.Float32frombits(le.Uint32(weights[16+4*i:]))
	}
	if !finite(m.bias) {
		return nil, fmt.Errorf("injection: %s: bias is not finite", WeightsFile)
	}
	for i, w := range m.weights {
		if !finite(w) {
			return nil, fmt.Errorf("injection: %s: weight %d is not finite", WeightsFile, i)
		}
	}
	return m, nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// NewModel builds a model from trained weights; the trainer's
// constructor. It fills in the header's format, version and weight
// digest.
func NewModel(h Header, bias float32, weights []float32) (*Model, error) {
	if err := h.Features.validate(); err != nil {
		return nil, fmt.Errorf("injection: %w", err)
	}
	if len(weights) != 1<<h.Features.Bits {
		return nil, fmt.Errorf("injection: %d weights for %d bits", len(weights), h.Features.Bits)
	}
	h.Format, h.Version = formatName, FormatVersion
	m := &Model{header: h, bias: bias, weights: append([]float32(nil), weights...)}
	sum := sha256.Sum256(m.weightsBytes())
	m.header.WeightsSHA256 = hex.EncodeToString(sum[:])
	return m, nil
}

// Header returns the model's header.
func (m *Model) Header() Header { return m.header }

// Files returns the bytes of model.json and weights.bin.
func (m *Model) Files() (header, weights []byte, err error) {
	header, err = json.MarshalIndent(m.header, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("injection: model header: %w", err)
	}
	return append(header, '\n'), m.weightsBytes(), nil
}

func (m *Model) weightsBytes() []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, weightsOverhead+4*len(m.weights))
	b = append(b, magic[:]...)
	b = le.AppendUint32(b, FormatVersion)
	b = le.AppendUint32(b, uint32(m.header.Features.Bits))
	b = le.AppendUint32(b, math.Float32bits(m.bias))
	for _, w := range m.weights {
		b = le.AppendUint32(b, math.Float32bits(w))
	}
	return le.AppendUint32(b, crc32.ChecksumIEEE(b))
}
