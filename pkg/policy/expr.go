package policy

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// Expr is one CEL expression compiled outside a rule Set, over the same
// variables and with the same cost limit: a limit's `when` (bool) or `key`
// (string). It is immutable and safe for concurrent use.
type Expr struct {
	prg cel.Program
}

// Vars are the CEL variables of one Input, each built once, when an
// expression first reads it; several expressions over one Input share them.
// Not safe for concurrent use.
type Vars struct {
	act activation
}

// NewVars returns the variables of in.
func NewVars(in *Input) *Vars { return &Vars{act: activation{in: in}} }

// CompileBool compiles expr, which must evaluate to a bool.
func CompileBool(env *cel.Env, expr string, costLimit uint64) (*Expr, error) {
	prg, err := compileCEL(env, expr, costLimit)
	if err != nil {
		return nil, err
	}
	return &Expr{prg: prg}, nil
}

// CompileString compiles expr, which must evaluate to a string.
func CompileString(env *cel.Env, expr string, costLimit uint64) (*Expr, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	// dyn is allowed (a header, a map member): String checks the value.
	if t := ast.OutputType(); t != cel.StringType && t != cel.DynType {
		return nil, fmt.Errorf("must evaluate to string, not %s (use string(...))", t)
	}
	prg, err := env.Program(ast,
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(100),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, err
	}
	return &Expr{prg: prg}, nil
}

// Bool evaluates a CompileBool expression. ctx carries the deadline.
func (e *Expr) Bool(ctx context.Context, v *Vars) (bool, error) {
	out, _, err := e.prg.ContextEval(ctx, &v.act)
	if err != nil {
		return false, err
	}
	return asBool(out)
}

// String evaluates a CompileString expression. ctx carries the deadline.
func (e *Expr) String(ctx context.Context, v *Vars) (string, error) {
	out, _, err := e.prg.ContextEval(ctx, &v.act)
	if err != nil {
		return "", err
	}
	s, ok := out.(types.String)
	if !ok {
		return "", fmt.Errorf("expression returned %s, not string", out.Type().TypeName())
	}
	return string(s), nil
}
