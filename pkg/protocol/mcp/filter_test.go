package mcp

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func keepOnly(names ...string) func(string) bool {
	return func(n string) bool {
		for _, k := range names {
			if n == k {
				return true
			}
		}
		return false
	}
}

func TestFilterToolsList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		keep    func(string) bool
		want    string
		changed bool
	}{
		{
			name:    "keeps order and other members",
			in:      `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","x":1}, {"name":"b"} ,{"name":"c","inputSchema":{"type":"object"}}],"nextCursor":"n1","zz":[1]},"extra":true}`,
			keep:    keepOnly("a", "c"),
			want:    `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","x":1},{"name":"c","inputSchema":{"type":"object"}}],"nextCursor":"n1","zz":[1]},"extra":true}`,
			changed: true,
		},
		{
			name:    "nothing removed returns input unchanged",
			in:      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[ {\"name\":\"a\"} ]}}",
			keep:    keepOnly("a"),
			want:    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[ {\"name\":\"a\"} ]}}",
			changed: false,
		},
		{
			name:    "remove all",
			in:      `{"jsonrpc":"2.0","id":"s","result":{"tools":[{"name":"a"},{"name":"b"}],"nextCursor":"c"}}`,
			keep:    keepOnly(),
			want:    `{"jsonrpc":"2.0","id":"s","result":{"tools":[],"nextCursor":"c"}}`,
			changed: true,
		},
		{
			name: "empty list",
			in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`,
			keep: keepOnly(),
			want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`,
		},
		{
			name:    "escaped names are matched unescaped",
			in:      `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"we\"ird\u00e9"},{"name":"x\/y"}]}}`,
			keep:    keepOnly(`we"irdé`),
			want:    `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"we\"ird\u00e9"}]}}`,
			changed: true,
		},
		{
			name:    "tools key escaped in the message",
			in:      `{"jsonrpc":"2.0","id":1,"result":{"t\u006fols":[{"name":"a"},{"name":"b"}]}}`,
			keep:    keepOnly("b"),
			want:    `{"jsonrpc":"2.0","id":1,"result":{"t\u006fols":[{"name":"b"}]}}`,
			changed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := FilterToolsList([]byte(tt.in), tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got  %s (changed=%v)\nwant %s (changed=%v)", got, changed, tt.want, tt.changed)
			}
			if !json.Valid(got) {
				t.Error("output is not valid JSON")
			}
		})
	}
}

func TestFilterToolsListTestdata(t *testing.T) {
	for _, file := range []string{"tools_list_go_sdk.json", "tools_list_spec.json"} {
		t.Run(file, func(t *testing.T) {
			in := readTestdata(t, filepath.Join("responses", file))
			names := gjson.GetBytes(in, "result.tools.#.name").Array()
			if len(names) == 0 {
				t.Fatal("no tools in fixture")
			}
			drop := names[0].Str
			got, changed, err := FilterToolsList(in, func(n string) bool { return n != drop })
			if err != nil || !changed {
				t.Fatalf("changed=%v err=%v", changed, err)
			}
			var before, after map[string]any
			if err := json.Unmarshal(in, &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatalf("output invalid: %v", err)
			}
			// Everything but the dropped tool is semantically unchanged.
			tools := before["result"].(map[string]any)["tools"].([]any)
			before["result"].(map[string]any)["tools"] = tools[1:]
			if !reflect.DeepEqual(before, after) {
				t.Errorf("unexpected change:\n%s", got)
			}
			if !strings.HasPrefix(string(got), string(in[:gjson.GetBytes(in, "result.tools").Index])) {
				t.Error("bytes before the tools array changed")
			}
		})
	}
}

func TestFilterToolsListErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":             `{"jsonrpc":`,
		"array":                `[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}]`,
		"error response":       `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}`,
		"no tools":             `{"jsonrpc":"2.0","id":1,"result":{"prompts":[]}}`,
		"tools not array":      `{"jsonrpc":"2.0","id":1,"result":{"tools":{}}}`,
		"tool not object":      `{"jsonrpc":"2.0","id":1,"result":{"tools":["a"]}}`,
		"tool without name":    `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"a"}]}}`,
		"name not string":      `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":1}]}}`,
		"repeated result":      `{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"result":{"tools":[{"name":"evil"}]}}`,
		"repeated tools":       `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"evil"}]}}`,
		"case-varied tools":    `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"Tools":[{"name":"evil"}]}}`,
		"repeated tool name":   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok","name":"evil"}]}}`,
		"too deep":             `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}}`,
		"invalid UTF-8 inside": "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"\xff\"}]}}",
	} {
		t.Run(name, func(t *testing.T) {
			out, changed, err := FilterToolsList([]byte(in), keepOnly("ok"))
			if !errors.Is(err, ErrNotToolsList) || out != nil || changed {
				t.Errorf("got %s, %v, %v; want ErrNotToolsList", out, changed, err)
			}
		})
	}
}
