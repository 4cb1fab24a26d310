package envoyconfig

import (
	"fmt"
	"sort"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Problem is one thing wrong with a bootstrap, at a path written with the
// proto field names (static_resources.listeners[0].filter_chains[0]...).
type Problem struct {
	Path string
	Msg  string
}

func (p *Problem) Error() string { return p.Path + ": " + p.Msg }

// Validate checks b as Envoy would at load time, and against what agentguard
// needs (o), and returns every problem found, each a *Problem:
//
//  1. the schema's constraints (protoc-gen-validate) on the bootstrap;
//  2. the same on every google.protobuf.Any inside it, found recursively
//     through messages, lists and maps (typed_config, typed_per_filter_config,
//     typed_extension_protocol_options...), which the bootstrap's own
//     ValidateAll does not enter;
//  3. the cross-checks in checks.go.
func Validate(b *bootstrapv3.Bootstrap, o Options) []error {
	var v validator
	v.schema("bootstrap", b)
	v.walkAny(b.ProtoReflect(), "", 0)
	v.crossCheck(b, o)
	return v.errs
}

type validator struct {
	errs []error
}

func (v *validator) addf(path, format string, args ...any) {
	v.errs = append(v.errs, &Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// schema runs m's generated ValidateAll and reports each error on its own.
func (v *validator) schema(path string, m proto.Message) {
	va, ok := m.(interface{ ValidateAll() error })
	if !ok {
		return
	}
	err := va.ValidateAll()
	if err == nil {
		return
	}
	if me, ok := err.(interface{ AllErrors() []error }); ok {
		for _, e := range me.AllErrors() {
			v.addf(path, "schema: %v", e)
		}
		return
	}
	v.addf(path, "schema: %v", err)
}

const anyName protoreflect.FullName = "google.protobuf.Any"

// walkAny finds every Any under m, unpacks it, validates the message inside
// and walks that too.
func (v *validator) walkAny(m protoreflect.Message, path string, depth int) {
	if depth > 64 {
		v.addf(path, "messages nested too deep")
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		fp := join(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				return true
			}
			mp := val.Map()
			keys := make([]string, 0, mp.Len())
			vals := map[string]protoreflect.Message{}
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				ks := k.String()
				keys = append(keys, ks)
				vals[ks] = mv.Message()
				return true
			})
			sort.Strings(keys)
			for _, k := range keys {
				v.message(vals[k], fmt.Sprintf("%s[%q]", fp, k), depth)
			}
		case fd.IsList():
			if fd.Kind() != protoreflect.MessageKind {
				return true
			}
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				v.message(l.Get(i).Message(), fmt.Sprintf("%s[%d]", fp, i), depth)
			}
		case fd.Kind() == protoreflect.MessageKind:
			v.message(val.Message(), fp, depth)
		}
		return true
	})
}

func (v *validator) message(m protoreflect.Message, path string, depth int) {
	if m.Descriptor().FullName() != anyName {
		v.walkAny(m, path, depth+1)
		return
	}
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		v.addf(path, "google.protobuf.Any of unexpected Go type %T", m.Interface())
		return
	}
	inner, err := a.UnmarshalNew()
	if err != nil {
		v.addf(path, "cannot unpack %s: %v", a.GetTypeUrl(), err)
		return
	}
	ipath := path + "<" + string(inner.ProtoReflect().Descriptor().Name()) + ">"
	v.schema(ipath, inner)
	v.walkAny(inner.ProtoReflect(), ipath, depth+1)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Errors joins problems into one string, one per line, for test output.
func Errors(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
