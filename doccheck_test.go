package coawait

import (
	"go/ast"
	"go/build"
	"go/doc"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// buildTags are the build configurations whose files the doc check reads:
// the default build, the GPU build and the build without the runtime
// parker, so that a comment missing only behind a tag is found too.
var buildTags = [][]string{nil, {"cuda"}, {"coawait_nolinkname"}}

// TestEveryExportedNameIsDocumented fails listing each exported type,
// function, method of an exported type, constant and variable of the
// module's packages (not internal ones, not commands) that has no doc
// comment, each such package without a package doc or an example, and
// each doc link ([Name]) in those comments that names nothing.
func TestEveryExportedNameIsDocumented(t *testing.T) {
	dirs, err := packageDirs(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found only %d package directories: %v", len(dirs), dirs)
	}
	t.Logf("checking %d packages: %s", len(dirs), strings.Join(dirs, " "))
	var missing []string
	for _, dir := range dirs {
		m, err := undocumented(dir)
		if err != nil {
			t.Fatal(err)
		}
		missing = append(missing, m...)
		if ok, err := hasExample(dir); err != nil {
			t.Fatal(err)
		} else if !ok {
			missing = append(missing, filepath.ToSlash(dir)+": package has no Example with // Output: and no code block in its package doc")
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d doc comments are missing, or name what does not exist:\n\t%s",
			len(missing), strings.Join(missing, "\n\t"))
	}
}

// TestDocCheckFindsWhatIsMissing runs the check on a package written to
// lack every kind of comment it looks for, and on its documented twin.
func TestDocCheckFindsWhatIsMissing(t *testing.T) {
	got, err := undocumented("testdata/doccheck/bad")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"testdata/doccheck/bad: package bad has no package doc",
		"testdata/doccheck/bad: const Bare",
		"testdata/doccheck/bad: const GroupB",
		"testdata/doccheck/bad: func Linked: doc link [Nowhere] names nothing",
		"testdata/doccheck/bad: func Linked: doc link [Thing.Gone] names nothing",
		"testdata/doccheck/bad: func NewThing",
		"testdata/doccheck/bad: func Plain",
		"testdata/doccheck/bad: func Tagged (build tags cuda)",
		"testdata/doccheck/bad: method Thing.Do",
		"testdata/doccheck/bad: type Thing",
		"testdata/doccheck/bad: var Loose",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("undocumented(bad) =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if ok, err := hasExample("testdata/doccheck/bad"); err != nil || ok {
		t.Errorf("hasExample(bad) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := hasExample("testdata/doccheck/listonly"); err != nil || ok {
		t.Errorf("hasExample(listonly) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := hasExample("testdata/doccheck/codeonly"); err != nil || !ok {
		t.Errorf("hasExample(codeonly) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := hasExample("testdata/doccheck/good"); err != nil || !ok {
		t.Errorf("hasExample(good) = %v, %v; want true, nil", ok, err)
	}
	got, err = undocumented("testdata/doccheck/tagonly")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"testdata/doccheck/tagonly: func OnlyOnAGPU (build tags cuda)",
		"testdata/doccheck/tagonly: package tagonly has no package doc (build tags cuda)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("undocumented(tagonly) =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if dirs, err := packageDirs("testdata/doccheck"); err != nil || !slices.Contains(dirs, "testdata/doccheck/tagonly") {
		t.Errorf("packageDirs(testdata/doccheck) = %q, %v; want it to include the package built only with -tags cuda", dirs, err)
	}
	got, err = undocumented("testdata/doccheck/good")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 0 {
		t.Errorf("undocumented(good) = %q, want nothing", got)
	}
}

// packageDirs returns the directories under root that hold a package the
// check covers: not internal, not testdata, not hidden, not package main.
func packageDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
			name == "testdata" || name == "internal") {
			return filepath.SkipDir
		}
		if p != root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		pkg, err := importAny(p)
		if err != nil || pkg.Name == "main" {
			return nil // no package here, or a command
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs, err
}

// importAny returns the package in dir under the first configuration of
// buildTags that has Go files there, so that a package built only with
// -tags cuda is checked too.
func importAny(dir string) (*build.Package, error) {
	var first error
	for _, tags := range buildTags {
		ctxt := build.Default
		ctxt.BuildTags = tags
		ctxt.CgoEnabled = true
		pkg, err := ctxt.ImportDir(dir, 0)
		if err == nil {
			return pkg, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// undocumented returns, sorted, what lacks a doc comment in the package in
// dir, under each configuration of buildTags: "dir: kind Name", with the
// build tags when the name is only declared under them.
func undocumented(dir string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	type linkMsg struct{ msg, subject string }
	var linkOrder []linkMsg
	broken := map[string]int{} // link message → builds in which it is broken
	builds := map[string]int{} // subject → builds in which its doc exists
	for _, tags := range buildTags {
		ctxt := build.Default
		ctxt.BuildTags = tags
		ctxt.CgoEnabled = true
		pkg, err := ctxt.ImportDir(dir, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				continue
			}
			return nil, err
		}
		if pkg.Name == "main" {
			continue
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range append(slices.Clone(pkg.GoFiles), pkg.CgoFiles...) {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		p, err := doc.NewFromFiles(fset, files, path.Join("example.com", filepath.ToSlash(dir)))
		if err != nil {
			return nil, err
		}
		missing, subjects := missingIn(p)
		for _, what := range subjects {
			builds[what]++
		}
		for _, what := range missing {
			if subject, _, ok := strings.Cut(what, ": doc link "); ok {
				if broken[what]++; broken[what] == 1 {
					linkOrder = append(linkOrder, linkMsg{what, subject})
				}
				continue
			}
			if seen[what] {
				continue
			}
			seen[what] = true
			if tags != nil {
				what += " (build tags " + strings.Join(tags, ",") + ")"
			}
			out = append(out, filepath.ToSlash(dir)+": "+what)
		}
	}
	// A link is broken if it names nothing in every build whose doc has
	// it: a link to a name declared only with -tags cuda, from a comment
	// that every build has, finds it in that build.
	for _, l := range linkOrder {
		if broken[l.msg] == builds[l.subject] {
			out = append(out, filepath.ToSlash(dir)+": "+l.msg)
		}
	}
	slices.Sort(out)
	return out, nil
}

// hasExample reports whether the package in dir shows how it is used: an
// Example function with an // Output: comment in its tests (so that go
// test runs it), or, where no example can be deterministic, a code block
// in its package doc.
func hasExample(dir string) (bool, error) {
	pkg, err := importAny(dir)
	if err != nil {
		return false, err
	}
	fset := token.NewFileSet()
	var tests, srcs []*ast.File
	for _, names := range [][]string{pkg.TestGoFiles, pkg.XTestGoFiles, pkg.GoFiles} {
		for _, name := range names {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				return false, err
			}
			if strings.HasSuffix(name, "_test.go") {
				tests = append(tests, f)
			} else {
				srcs = append(srcs, f)
			}
		}
	}
	for _, ex := range doc.Examples(tests...) {
		if ex.Output != "" || ex.EmptyOutput {
			return true, nil
		}
	}
	for _, f := range srcs {
		if f.Doc == nil {
			continue
		}
		var parser comment.Parser
		for _, b := range parser.Parse(f.Doc.Text()).Content {
			if _, ok := b.(*comment.Code); ok {
				return true, nil
			}
		}
	}
	return false, nil
}

// linkLike matches what a doc link looks like once printed as text: an
// unresolved link keeps its brackets, a resolved one loses them.
var linkLike = regexp.MustCompile(`\[(\*?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)\]`)

// brokenLinks returns the doc links of text, such as [Close], that name
// nothing go doc can find, so that they show as plain bracketed words.
// Indexing such as m[k] is not a link; the check only looks at brackets
// after a space or at the start of a line, and at names that start with
// an upper-case letter or hold a dot.
func brokenLinks(p *doc.Package, text string) []string {
	var out []string
	printed := string(p.Text(text))
	for _, m := range linkLike.FindAllStringSubmatchIndex(printed, -1) {
		if m[0] > 0 && !strings.ContainsRune(" \t\n(", rune(printed[m[0]-1])) {
			continue
		}
		name := printed[m[2]:m[3]]
		if c := strings.TrimPrefix(name, "*")[0]; !(c >= 'A' && c <= 'Z') && !strings.Contains(name, ".") {
			continue
		}
		out = append(out, "["+name+"]")
	}
	return out
}

// missingIn lists what lacks a doc comment in one build of a package, and
// the doc links that name nothing in that build ("subject: doc link
// [Name] names nothing"); subjects are the comments whose links it
// checked.
func missingIn(p *doc.Package) (missing, subjects []string) {
	var out []string
	if strings.TrimSpace(p.Doc) == "" {
		out = append(out, "package "+p.Name+" has no package doc")
	}
	links := func(what, text string) {
		subjects = append(subjects, what)
		for _, l := range brokenLinks(p, text) {
			out = append(out, what+": doc link "+l+" names nothing")
		}
	}
	links("package "+p.Name, p.Doc)
	values := func(kind string, vs []*doc.Value) {
		for _, v := range vs {
			if v.Doc != "" {
				links(kind+" "+strings.Join(v.Names, ", "), v.Doc)
				continue // the group's comment covers every name in it
			}
			for _, spec := range v.Decl.Specs {
				vs := spec.(*ast.ValueSpec)
				if vs.Doc != nil || vs.Comment != nil {
					continue
				}
				for _, n := range vs.Names {
					if n.IsExported() {
						out = append(out, kind+" "+n.Name)
					}
				}
			}
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			what := "func " + f.Name
			if f.Recv != "" {
				recv, _, _ := strings.Cut(strings.TrimLeft(f.Recv, "*"), "[")
				what = "method " + recv + "." + f.Name
			}
			if f.Doc == "" {
				out = append(out, what)
			}
			links(what, f.Doc)
		}
	}
	values("const", p.Consts)
	values("var", p.Vars)
	funcs(p.Funcs)
	for _, t := range p.Types {
		if t.Doc == "" {
			out = append(out, "type "+t.Name)
		}
		links("type "+t.Name, t.Doc)
		values("const", t.Consts)
		values("var", t.Vars)
		funcs(t.Funcs)
		funcs(t.Methods)
	}
	return out, subjects
}
