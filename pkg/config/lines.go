package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// locate fills in the line of each error whose path names a node in doc, so
// `agentguard validate` points at the line to fix, not just the field.
func locate(doc *yaml.Node, es Errors) {
	for i := range es {
		if es[i].Line == 0 && es[i].Path != "" {
			es[i].Line = lineOf(doc, es[i].Path)
		}
	}
}

// lineOf walks a path such as profiles[1].mcp.tools[0].server and returns the
// line of the deepest node it reaches.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if open := strings.IndexByte(part, '['); open >= 0 && strings.HasSuffix(part, "]") {
			key = part[:open]
			if v, err := strconv.Atoi(part[open+1 : len(part)-1]); err == nil {
				idx = v
			}
		}
		next := child(n, key)
		if next == nil {
			return line
		}
		n, line = next, next.Line
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Locate fills in lines for errors produced after Parse (CEL compilation).
func Locate(data []byte, es Errors) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		locate(&doc, es)
	}
}
