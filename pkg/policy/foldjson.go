package policy

import (
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// argAdapter turns decoded JSON arguments into CEL values whose objects are
// foldMaps, at every depth.
type argAdapter struct{}

var _ types.Adapter = argAdapter{}

func (argAdapter) NativeToValue(v any) ref.Val {
	switch t := v.(type) {
	case map[string]any:
		return &foldMap{Mapper: types.NewDynamicMap(argAdapter{}, t), m: t}
	case []any:
		return types.NewDynamicList(argAdapter{}, t)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// foldMap is a JSON object whose member lookup falls back to a
// case-insensitive match, as Go's encoding/json does when a server decodes
// arguments into structs: a rule reading arguments.event must see "Event"
// too, or {"Event":"APPROVE"} would pass a rule the server then obeys. The
// codec has refused objects with case-variant duplicate keys, so the
// fallback is unambiguous. Servers that match exactly see the member only
// under its exact name; the fallback can then only make a rule stricter.
type foldMap struct {
	traits.Mapper
	m map[string]any
}

func (f *foldMap) Find(k ref.Val) (ref.Val, bool) {
	if v, ok := f.Mapper.Find(k); ok {
		return v, true
	}
	s, ok := k.(types.String)
	if !ok {
		return nil, false
	}
	for key, v := range f.m {
		if strings.EqualFold(key, string(s)) {
			return argAdapter{}.NativeToValue(v), true
		}
	}
	return nil, false
}

func (f *foldMap) Get(k ref.Val) ref.Val {
	if v, ok := f.Find(k); ok {
		return v
	}
	return types.NewErr("no such key: %v", k)
}

func (f *foldMap) Contains(k ref.Val) ref.Val {
	_, ok := f.Find(k)
	return types.Bool(ok)
}
