package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads and decodes one config file strictly and validates it whole.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data (named name in errors) strictly, applies defaults and
// validates it. Errors are an Errors value listing every problem found.
func Parse(name string, data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Msg: "empty config"}}
		}
		return nil, decodeErrors(name, err)
	}
	// A second document would be silently ignored; refuse it instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, Errors{{File: name, Line: extra.Line, Msg: "more than one YAML document"}}
	}
	f.applyDefaults()
	if errs := f.Validate(); len(errs) > 0 {
		Locate(data, errs)
		for i := range errs {
			errs[i].File = name
		}
		return nil, errs
	}
	return &f, nil
}

// decodeErrors turns yaml.v3's errors ("line 12: field foo not found in
// type config.Agent") into one Error per line so each names its place.
func decodeErrors(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		line, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: "))
		return Errors{{File: name, Line: line, Msg: msg}}
	}
	out := make(Errors, 0, len(te.Errors))
	for _, e := range te.Errors {
		line, msg := splitLine(e)
		out = append(out, Error{File: name, Line: line, Msg: msg})
	}
	return out
}

// splitLine moves yaml.v3's "line 12: " prefix into Error.Line, so a decode
// error renders "file:12: msg" like a validation error does.
func splitLine(s string) (int, string) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, s
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, s
	}
	return n, msg
}

// UnmarshalYAML accepts Go duration strings ("150ms", "2s").
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration the way it is configured.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}
