package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// object is one rendered Kubernetes object, as generic YAML.
type object map[string]any

func (o object) kind() string { return str(o, "kind") }
func (o object) name() string { return str(o, "metadata", "name") }
func (o object) ns() string   { return str(o, "metadata", "namespace") }

// objects is a rendered kustomization.
type objects []object

func parseObjects(t *testing.T, data []byte) objects {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs objects
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
}

// get returns the one object of kind whose name is name, or whose name
// starts with name+"-" when prefix is set (a generated ConfigMap's hash).
func (objs objects) get(t *testing.T, kind, name string, prefix bool) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.kind() != kind {
			continue
		}
		if o.name() == name || (prefix && strings.HasPrefix(o.name(), name+"-")) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s, found %d", kind, name, len(found))
	}
	return found[0]
}

func (objs objects) all(kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// at walks maps by key and lists by integer index ("0", "1"...); nil when
// any step is missing.
func at(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case object:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := at(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

// num returns an integer field (YAML int) as int, or -1.
func num(v any, path ...string) int {
	switch n := at(v, path...).(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

// named returns the element of the list at path whose "name" is name.
func named(t *testing.T, v any, name string, path ...string) map[string]any {
	t.Helper()
	for _, e := range list(v, path...) {
		if m, ok := e.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	t.Fatalf("no element named %q at %s", name, strings.Join(path, "."))
	return nil
}

// flagValue returns the value of -name=value (or --name=value) in args.
func flagValue(args []any, name string) (string, error) {
	for _, a := range args {
		s, _ := a.(string)
		for _, p := range []string{"-" + name + "=", "--" + name + "="} {
			if v, ok := strings.CutPrefix(s, p); ok {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("no -%s=VALUE in %v", name, args)
}

// portOf returns the port of a listen address such as ":9000" or
// "127.0.0.1:15000".
func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }
