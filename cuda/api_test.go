package cuda_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// What only backends call lives in cuda/internal/kit: the package's
// exported API, which `go doc` shows users, must not offer it again.
func TestNoBackendOnlyAPI(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range pkgs["cuda"].Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil {
				typ := fd.Recv.List[0].Type
				if st, ok := typ.(*ast.StarExpr); ok {
					typ = st.X
				}
				name = typ.(*ast.Ident).Name + "." + name
			}
			exported[name] = true
		}
	}
	if len(exported) == 0 {
		t.Fatal("found no exported functions: the test reads the wrong files")
	}
	for _, name := range []string{
		"NewHostBuffer", "HostBuffer.Acquire", "HostBuffer.Release", "HostBuffer.MarkFreed",
		"HostBuffer.Invalidate", "HostBuffer.Owner", "Errorf", "CheckRange", "CheckArgs",
		"LaunchConfig.Validate", "AlignedBytes",
	} {
		if exported[name] {
			t.Errorf("package cuda exports %s, which only backends call; it belongs in cuda/internal/kit", name)
		}
	}
}
