//go:build gc && !go1.27 && !race && !msan && !asan && !coawait_nolinkname

package future

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// The wait reason and trace block reason that park passes to gopark are
// the runtime's own, read from the source of the Go release that runs the
// test: a release that renumbers them fails here rather than mislabelling
// parked goroutines (and confusing testing/synctest) in users' programs.
func TestParkReasons(t *testing.T) {
	dir := filepath.Join(goroot(t), "src", "runtime")
	tests := []struct {
		file, typ, name string
		want            int
	}{
		{"runtime2.go", "waitReason", "waitReasonSyncCondWait", waitReasonSyncCondWait},
		{"traceruntime.go", "traceBlockReason", "traceBlockCondWait", traceBlockCondWait},
	}
	for _, tt := range tests {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, tt.file), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		// gopark's declaration in park_runtime.go passes both as uint8.
		if u := underlying(f, tt.typ); u != "uint8" {
			t.Errorf("runtime.%s is %q in %s, park_runtime.go passes a uint8", tt.typ, u, runtime.Version())
		}
		got, err := iotaValue(f, tt.name)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got != tt.want {
			t.Errorf("runtime.%s = %d in %s, park_runtime.go uses %d", tt.name, got, runtime.Version(), tt.want)
		}
	}
}

// decls yields the declarations of f of kind tok (token.CONST, token.TYPE).
func decls(f *ast.File, tok token.Token) iter.Seq[*ast.GenDecl] {
	return func(yield func(*ast.GenDecl) bool) {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == tok && !yield(g) {
				return
			}
		}
	}
}

// underlying returns the name of the type that type name is declared with
// in f, or "" if f does not declare it so.
func underlying(f *ast.File, name string) string {
	for g := range decls(f, token.TYPE) {
		for _, s := range g.Specs {
			ts := s.(*ast.TypeSpec)
			if id, ok := ts.Type.(*ast.Ident); ok && ts.Name.Name == name {
				return id.Name
			}
		}
	}
	return ""
}

// goroot returns the root of the Go installation that built the test, or
// skips the test if its source is not there.
func goroot(t *testing.T) string {
	root := os.Getenv("GOROOT")
	if root == "" {
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			root = strings.TrimSpace(string(out))
		}
	}
	if _, err := os.Stat(filepath.Join(root, "src", "runtime", "runtime2.go")); err != nil {
		t.Skipf("the runtime's source is not available: %v", err)
	}
	return root
}

// iotaValue returns the value of constant name in f, which must be
// declared in a block whose first constant is iota and whose others take
// the implicit next value.
func iotaValue(f *ast.File, name string) (int, error) {
	for g := range decls(f, token.CONST) {
		for i, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if len(v.Names) != 1 || v.Names[0].Name != name {
				continue
			}
			first := g.Specs[0].(*ast.ValueSpec)
			if len(first.Values) != 1 || !isIota(first.Values[0]) {
				return 0, fmt.Errorf("the block of %s does not start with iota", name)
			}
			for _, s := range g.Specs[1 : i+1] {
				if v := s.(*ast.ValueSpec); len(v.Values) != 0 || len(v.Names) != 1 {
					return 0, fmt.Errorf("the block of %s is not a plain iota sequence", name)
				}
			}
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s is not declared", name)
}

// isIota reports whether e is iota, alone or converted to a type.
func isIota(e ast.Expr) bool {
	if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
		e = c.Args[0]
	}
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "iota"
}

// commitPark keeps a goroutine parked, published for unpark, while the
// future is pending, and resumes it, unpublished, once it is done.
func TestCommitPark(t *testing.T) {
	const gp = 0x1000 // stands for a goroutine; never readied here
	var pending signal
	if !commitPark(gp, unsafe.Pointer(&pending)) {
		t.Error("commitPark resumed the waiter of a pending future")
	}
	if got := pending.p.g.Load(); got != gp {
		t.Errorf("a pending future's parked goroutine is %#x, want %#x", got, gp)
	}
	var done signal
	done.state.Store(stateDone)
	if commitPark(gp, unsafe.Pointer(&done)) {
		t.Error("commitPark parked the waiter of a settled future")
	}
	if got := done.p.g.Load(); got != 0 {
		t.Errorf("a settled future still holds parked goroutine %#x", got)
	}
}
