// Package envoyconfig checks agentguard's Envoy bootstrap files (envoy/*.yaml)
// without an Envoy binary: Load decodes a file strictly against Envoy's v3 API
// (go-control-plane), and Validate runs the schema's constraints on every
// message, including those packed in google.protobuf.Any, then cross-checks
// what Envoy itself rejects at load time and what agentguard relies on
// (profiles, ports, timeouts, HTTP/2, body limits, fail-closed).
//
// It is test support for the e2e harness and the tests in this package; it is
// not used by agentguard at run time.
package envoyconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	// Every extension the files name in a typed_config "@type" must be
	// registered, or protojson cannot resolve it. The packages used by
	// name in checks.go are imported there; these are only registered.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
)

// Load reads an Envoy bootstrap YAML file: YAML → JSON → protojson, with
// unknown fields rejected, into a Bootstrap. An "@type" naming a message
// that is not registered is an error, as it is for Envoy.
func Load(path string) (*bootstrapv3.Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; name is used in errors.
func Parse(name string, data []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yamlToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var b bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, &b); err != nil {
		// protojson's position is in the JSON; point at the YAML instead.
		if line := yamlLine(data, err.Error()); line > 0 {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &b, nil
}

// quoted picks the offending name or value out of protojson's messages
// (unknown field "x", invalid value for enum field f: "x").
var quoted = regexp.MustCompile(`(?:unknown field|invalid value for [a-z ]+ field \w+:) "([^"]+)"`)

// yamlLine guesses the YAML line an error is about: the first line holding
// the quoted name or value the error names; 0 if none does.
func yamlLine(data []byte, msg string) int {
	m := quoted.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.Contains(line, m[1]+":") || strings.Contains(line, ": "+m[1]) {
			return i + 1
		}
	}
	return 0
}

// yamlToJSON converts one YAML document to JSON, resolving anchors and
// keeping scalars' YAML types (a quoted "9000" stays a string).
func yamlToJSON(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty YAML")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &doc, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 200 {
		return fmt.Errorf("line %d: nesting too deep", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: empty document", n.Line)
		}
		return writeJSON(buf, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				return fmt.Errorf("line %d: YAML merge keys are not supported", k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k.Value)
			buf.WriteByte(':')
			if err := writeJSON(buf, v, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(buf, n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return err
		}
		buf.WriteString(strconv.FormatBool(b))
	case "!!int":
		// Plain decimal passes through; 0x/0o forms are normalised.
		var i int64
		if err := n.Decode(&i); err == nil {
			buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var u uint64
		if err := n.Decode(&u); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.WriteString(strconv.FormatUint(u, 10))
	case "!!float":
		v := strings.ToLower(n.Value)
		if strings.Contains(v, "inf") || strings.Contains(v, "nan") {
			return fmt.Errorf("line %d: %q is not a JSON number", n.Line, n.Value)
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return err
		}
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	default: // !!str, !!timestamp, !!binary: as written
		writeString(buf, n.Value)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
