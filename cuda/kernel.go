package cuda

import (
	"fmt"
	"math"
	"strings"
)

// ParamKind is the type of a kernel parameter.
type ParamKind uint8

// Parameter kinds. They match the C types a kernel declares.
const (
	ParamInvalid ParamKind = iota // the zero Arg's kind; never valid
	ParamPtr                      // a device pointer (T* in C)
	ParamInt32                    // int
	ParamUint32                   // unsigned int
	ParamInt64                    // long long
	ParamFloat32                  // float
	ParamFloat64                  // double
)

var paramNames = [...]string{"invalid", "pointer", "int32", "uint32", "int64", "float32", "float64"}

// String names the kind, such as "pointer" or "float32".
func (k ParamKind) String() string {
	if int(k) < len(paramNames) {
		return paramNames[k]
	}
	return fmt.Sprintf("ParamKind(%d)", uint8(k))
}

// Param is one declared kernel parameter.
type Param struct {
	Name string // for error messages; may be empty
	Kind ParamKind
}

// KernelSpec identifies a kernel and declares its parameters.
type KernelSpec struct {
	Module, Name string
	Params       []Param
}

// String formats the spec as a C-like signature, such as
// "saxpy_f32(pointer y, float32 a, pointer x, int32 n)".
func (s KernelSpec) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('(')
	for i, p := range s.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Kind.String())
		if p.Name != "" {
			b.WriteByte(' ')
			b.WriteString(p.Name)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// Arg is one typed kernel argument. Make it with [Ptr], [Int32], [Uint32],
// [Int64], [Float32] or [Float64]. The zero Arg is invalid.
type Arg struct {
	kind ParamKind
	bits uint64 // the pointer, the integer, or the float's IEEE bits
}

// Ptr is a device pointer argument.
func Ptr(p DevicePtr) Arg { return Arg{ParamPtr, uint64(p)} }

// Int32 is an int argument.
func Int32(v int32) Arg { return Arg{ParamInt32, uint64(int64(v))} }

// Uint32 is an unsigned int argument.
func Uint32(v uint32) Arg { return Arg{ParamUint32, uint64(v)} }

// Int64 is a long long argument.
func Int64(v int64) Arg { return Arg{ParamInt64, uint64(v)} }

// Float32 is a float argument.
func Float32(v float32) Arg { return Arg{ParamFloat32, uint64(math.Float32bits(v))} }

// Float64 is a double argument.
func Float64(v float64) Arg { return Arg{ParamFloat64, math.Float64bits(v)} }

// Kind is the argument's type.
func (a Arg) Kind() ParamKind { return a.kind }

// Ptr returns a pointer argument's value (0 for other kinds).
func (a Arg) Ptr() DevicePtr {
	if a.kind != ParamPtr {
		return 0
	}
	return DevicePtr(a.bits)
}

// Int returns an integer argument's value, sign- or zero-extended as its
// kind says (0 for other kinds).
func (a Arg) Int() int64 {
	switch a.kind {
	case ParamInt32:
		return int64(int32(a.bits))
	case ParamUint32:
		return int64(uint32(a.bits))
	case ParamInt64:
		return int64(a.bits)
	}
	return 0
}

// Float returns a float argument's value (0 for other kinds).
func (a Arg) Float() float64 {
	switch a.kind {
	case ParamFloat32:
		return float64(math.Float32frombits(uint32(a.bits)))
	case ParamFloat64:
		return math.Float64frombits(a.bits)
	}
	return 0
}

// String formats the argument, such as "float32(2.5)".
func (a Arg) String() string {
	switch a.kind {
	case ParamPtr:
		return "pointer(" + a.Ptr().String() + ")"
	case ParamInt32, ParamUint32, ParamInt64:
		return fmt.Sprintf("%v(%d)", a.kind, a.Int())
	case ParamFloat32, ParamFloat64:
		return fmt.Sprintf("%v(%g)", a.kind, a.Float())
	}
	return "invalid"
}

// checkArgs checks args against the parameter list of spec and returns an
// [ErrInvalidValue] error naming op if the count or a type differs.
func checkArgs(op string, spec KernelSpec, args []Arg) error {
	if len(args) != len(spec.Params) {
		return errorf(op, ErrInvalidValue, "got %d arguments, kernel %v takes %d", len(args), spec, len(spec.Params))
	}
	for i, p := range spec.Params {
		if args[i].kind != p.Kind {
			name := ""
			if p.Name != "" {
				name = " (" + p.Name + ")"
			}
			return errorf(op, ErrInvalidValue, "argument %d%s is %v, kernel %v wants %v", i, name, args[i].kind, spec, p.Kind)
		}
	}
	return nil
}
