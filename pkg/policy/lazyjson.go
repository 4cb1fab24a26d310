package policy

import (
	"encoding/json"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// lazyObject is a JSON object as a CEL map, decoded on first use: most rules
// never read a tool's arguments, and decoding them is most of a decision's
// cost when they do not.
type lazyObject struct {
	raw []byte
	m   traits.Mapper
}

var _ traits.Mapper = (*lazyObject)(nil)

func (l *lazyObject) get() traits.Mapper {
	if l.m == nil {
		v := map[string]any{}
		// The codec validated the arguments as a JSON object; should they
		// not decode, rules see an empty map rather than a failure.
		_ = json.Unmarshal(l.raw, &v)
		l.m = argAdapter{}.NativeToValue(v).(traits.Mapper)
	}
	return l.m
}

func (l *lazyObject) ConvertToNative(t reflect.Type) (any, error) { return l.get().ConvertToNative(t) }
func (l *lazyObject) ConvertToType(t ref.Type) ref.Val            { return l.get().ConvertToType(t) }
func (l *lazyObject) Equal(o ref.Val) ref.Val                     { return l.get().Equal(o) }
func (l *lazyObject) Type() ref.Type                              { return types.MapType }
func (l *lazyObject) Value() any                                  { return l.get().Value() }
func (l *lazyObject) Contains(k ref.Val) ref.Val                  { return l.get().Contains(k) }
func (l *lazyObject) Get(k ref.Val) ref.Val                       { return l.get().Get(k) }
func (l *lazyObject) Iterator() traits.Iterator                   { return l.get().Iterator() }
func (l *lazyObject) Size() ref.Val                               { return l.get().Size() }
func (l *lazyObject) Find(k ref.Val) (ref.Val, bool)              { return l.get().Find(k) }

// lazyHeaders is request.headers as a CEL map, built on first use: rules
// that read request.path or request.method must not pay for copying every
// header (Request.Headers promises to be called only when headers are read).
type lazyHeaders struct {
	load func() map[string]string
	m    traits.Mapper
}

var _ traits.Mapper = (*lazyHeaders)(nil)

func (l *lazyHeaders) get() traits.Mapper {
	if l.m == nil {
		h := l.load()
		if h == nil {
			h = map[string]string{}
		}
		l.m = types.DefaultTypeAdapter.NativeToValue(h).(traits.Mapper)
	}
	return l.m
}

func (l *lazyHeaders) ConvertToNative(t reflect.Type) (any, error) { return l.get().ConvertToNative(t) }
func (l *lazyHeaders) ConvertToType(t ref.Type) ref.Val            { return l.get().ConvertToType(t) }
func (l *lazyHeaders) Equal(o ref.Val) ref.Val                     { return l.get().Equal(o) }
func (l *lazyHeaders) Type() ref.Type                              { return types.MapType }
func (l *lazyHeaders) Value() any                                  { return l.get().Value() }
func (l *lazyHeaders) Contains(k ref.Val) ref.Val                  { return l.get().Contains(k) }
func (l *lazyHeaders) Get(k ref.Val) ref.Val                       { return l.get().Get(k) }
func (l *lazyHeaders) Iterator() traits.Iterator                   { return l.get().Iterator() }
func (l *lazyHeaders) Size() ref.Val                               { return l.get().Size() }
func (l *lazyHeaders) Find(k ref.Val) (ref.Val, bool)              { return l.get().Find(k) }
