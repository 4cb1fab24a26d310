package jsonscan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestCheckObject(t *testing.T) {
	cases := map[string]string{
		`{"a":1}`:          "",
		` {"a":"[[["}`:     "",
		"{\"a\":\"\xff\"}": "body is not valid UTF-8",
		strings.Repeat("[", 100) + "1" + strings.Repeat("]", 100): "body is nested too deep",
		`{"a":`: "body is not valid JSON",
		`[1]`:   "body is not a JSON object",
		`"s"`:   "body is not a JSON object",
	}
	for in, want := range cases {
		if got := CheckObject([]byte(in), 64); got != want {
			t.Errorf("%.30q: %q, want %q", in, got, want)
		}
	}
}

type testErr struct{ msg string }

func TestEachMemberFindsRepeats(t *testing.T) {
	dup := func(n string) *testErr { return &testErr{"dup " + n} }
	var ks KeySet
	visit := func(raw string) *testErr {
		var walk func(v gjson.Result) *testErr
		walk = func(v gjson.Result) *testErr {
			if !v.IsObject() {
				return nil
			}
			return EachMember(&ks, v, func(_ string, c gjson.Result) *testErr { return walk(c) }, dup)
		}
		return walk(gjson.Parse(raw))
	}
	big := `{`
	for i := range 40 {
		big += fmt.Sprintf(`"k%02d":1,`, i)
	}
	cases := map[string]string{
		`{"a":1,"b":2}`:             "",
		`{"a":1,"a":2}`:             "dup a",
		`{"a":{"b":1},"c":{"b":2}}`: "", // same name in sibling objects
		`{"a":{"b":1,"b":2}}`:       "dup b",
		big + `"k07":2}`:            "dup k07", // past the linear-search size
		big + `"zz":2}`:             "",
	}
	for in, want := range cases {
		got := ""
		if e := visit(in); e != nil {
			got = e.msg
		}
		if got != want {
			t.Errorf("%.40q: %q, want %q", in, got, want)
		}
	}
	if len(ks.keys) != 0 {
		t.Errorf("key stack not emptied: %v", ks.keys)
	}
	stop := &testErr{"stop"}
	if e := EachMember(&ks, gjson.Parse(`{"a":1,"b":2}`), func(k string, _ gjson.Result) *testErr {
		if k == "a" {
			return stop
		}
		return nil
	}, dup); e != stop {
		t.Errorf("fn's error not returned: %v", e)
	}
}

// FuzzDepthWithin: any bytes, no panic, and agreement with a reference that
// counts nesting the slow way on valid JSON.
func FuzzDepthWithin(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"]]]"}]}`), 2)
	f.Add([]byte(`"\"[[["`), 1)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		max = max%100 + 1
		got := DepthWithin(b, max)
		if !gjson.ValidBytes(b) || max < 1 {
			return
		}
		if want := depth(gjson.ParseBytes(b)) <= max; got != want {
			t.Fatalf("DepthWithin(%q, %d) = %v, want %v", b, max, got, want)
		}
	})
}

func depth(v gjson.Result) int {
	if !v.IsObject() && !v.IsArray() {
		return 0
	}
	d := 0
	v.ForEach(func(_, c gjson.Result) bool {
		d = max(d, depth(c))
		return true
	})
	return d + 1
}

func TestRepeatedMember(t *testing.T) {
	for _, c := range []struct {
		json, key string
	}{
		{`{"a":1,"b":{"c":[{"d":1,"e":2}]}}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":1,"A":2}`, "A"},
		{`{"x":[{"k":1},{"deep":{"t":1,"T":2}}]}`, "T"},
		{`[{"ok":1},{"ok":1}]`, ""}, // the same name in sibling objects is fine
		{`"text"`, ""},
	} {
		key, dup := RepeatedMember(gjson.Parse(c.json))
		if key != c.key || dup != (c.key != "") {
			t.Errorf("RepeatedMember(%s) = %q, %v; want %q", c.json, key, dup, c.key)
		}
	}
}
