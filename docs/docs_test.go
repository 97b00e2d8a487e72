package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A block is a fenced block of a page that a marker comment ties to a file.
type block struct {
	page   string // the page's file name
	line   int    // the line of the marker
	kind   string // "code" or "output"
	file   string // the marked file, relative to docs/
	lang   string // the fence's language
	text   string // the block's lines, each ending in "\n"
	closed bool   // whether the fence was closed
}

var marker = regexp.MustCompile(`^<!-- (code|output): (\S+) -->$`)

// blocks returns the marked blocks of a page, and an error for a marker
// that no fenced block follows.
func blocks(page string, data []byte) ([]block, error) {
	var out []block
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	var cur *block
	var pending *block
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur != nil:
			if strings.TrimSpace(line) == "```" {
				cur.closed = true
				out = append(out, *cur)
				cur = nil
				continue
			}
			cur.text += line + "\n"
		case pending != nil:
			if !strings.HasPrefix(line, "```") {
				return nil, fmt.Errorf("%s:%d: marker for %s is not followed by a fenced block", page, pending.line, pending.file)
			}
			pending.lang = strings.TrimPrefix(line, "```")
			cur, pending = pending, nil
		default:
			if m := marker.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				pending = &block{page: page, line: n, kind: m[1], file: m[2]}
			}
		}
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: marker for %s is not followed by a fenced block", page, pending.line, pending.file)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the block for %s is not closed", page, cur.line, cur.file)
	}
	return out, sc.Err()
}

// check returns why b does not match its file, or "".
func check(b block, file []byte) string {
	text := string(file)
	switch b.kind {
	case "code":
		if b.lang != "go" {
			return fmt.Sprintf("a code marker must precede a ```go block, not ```%s", b.lang)
		}
		if strings.TrimSpace(b.text) == "" {
			return "the block is empty"
		}
		// A run of whole lines: at the start of the file or after a newline.
		for i := 0; ; {
			j := strings.Index(text[i:], b.text)
			if j < 0 {
				return "the block is not a verbatim run of whole lines of the file; copy it again"
			}
			if i+j == 0 || text[i+j-1] == '\n' {
				return ""
			}
			i += j + 1
		}
	case "output":
		if b.text != text {
			return "the block differs from the file; copy the file into the block again"
		}
	}
	return ""
}

func pages(t *testing.T) []string {
	t.Helper()
	ps, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no pages in docs/")
	}
	return ps
}

// Every marked block of every page matches its file.
func TestMarkedBlocks(t *testing.T) {
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := blocks(p, data)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, b := range bs {
			file, err := os.ReadFile(filepath.FromSlash(b.file))
			if err != nil {
				t.Errorf("%s:%d: %v", b.page, b.line, err)
				continue
			}
			if why := check(b, file); why != "" {
				t.Errorf("%s:%d: %s block for %s: %s", b.page, b.line, b.kind, b.file, why)
			}
		}
	}
}

// Every example is quoted by a page and has a test that runs it, and a
// page shows the output it prints.
func TestExamplesQuoted(t *testing.T) {
	quoted := map[string]bool{} // example folders, and output files, quoted
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bs, _ := blocks(p, data) // errors are TestMarkedBlocks's
		for _, b := range bs {
			quoted[filepath.Dir(filepath.FromSlash(b.file))] = true
			if b.kind == "output" {
				quoted[filepath.FromSlash(b.file)] = true
			}
		}
	}
	dirs, err := filepath.Glob(filepath.Join("examples", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if !quoted[d] {
			t.Errorf("%s: no page quotes this example", d)
		}
		if _, err := os.Stat(filepath.Join(d, "main_test.go")); err != nil {
			t.Errorf("%s: no main_test.go runs this example", d)
		}
		out := filepath.Join(d, "output.txt")
		if _, err := os.Stat(out); err == nil && !quoted[out] {
			t.Errorf("%s: no page shows this output in a marked output block", out)
		}
	}
}

var link = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

// Relative links of the pages lead to files that exist.
func TestLinks(t *testing.T) {
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.FromSlash(target)); err != nil {
				t.Errorf("%s: broken link %s", p, target)
			}
		}
	}
}

// The checker itself: what it must accept and refuse.
func TestCheck(t *testing.T) {
	file := []byte("package main\n\nfunc main() {\n\tprintln(1)\n}\n")
	page := "x\n<!-- code: f.go -->\n```go\nfunc main() {\n\tprintln(1)\n}\n```\n"
	bs, err := blocks("p.md", []byte(page))
	if err != nil || len(bs) != 1 {
		t.Fatalf("blocks = %v, %v; want one block", bs, err)
	}
	if why := check(bs[0], file); why != "" {
		t.Errorf("a verbatim excerpt was refused: %s", why)
	}
	for _, bad := range []string{
		"<!-- code: f.go -->\n```go\nfunc main() {\n\tprintln(2)\n}\n```\n", // changed
		"<!-- code: f.go -->\n```go\nunc main() {\n```\n",                   // not whole lines
		"<!-- code: f.go -->\n```text\nfunc main() {\n```\n",                // not go
		"<!-- code: f.go -->\n```go\n\n```\n",                               // empty
	} {
		bs, err := blocks("p.md", []byte(bad))
		if err != nil || len(bs) != 1 {
			t.Fatalf("blocks(%q) = %v, %v; want one block", bad, bs, err)
		}
		if check(bs[0], file) == "" {
			t.Errorf("accepted %q", bad)
		}
	}
	for _, bad := range []string{
		"<!-- code: f.go -->\ntext\n",        // no block
		"<!-- code: f.go -->\n```go\nfunc\n", // not closed
		"<!-- output: o.txt -->\n",           // nothing after
	} {
		if _, err := blocks("p.md", []byte(bad)); err == nil {
			t.Errorf("blocks(%q) found no error", bad)
		}
	}
	out := block{kind: "output", text: "a\nb\n"}
	if check(out, []byte("a\nb\n")) != "" || check(out, []byte("a\nc\n")) == "" {
		t.Error("output blocks are not compared exactly")
	}
}

// The page parser never panics, and every block it finds is text of the
// page that follows its marker.
func FuzzBlocks(f *testing.F) {
	f.Add("<!-- code: f.go -->\n```go\nfunc main() {}\n```\n")
	f.Add("<!-- output: o.txt -->\n```text\na\n\nb\n```\ntail\n")
	f.Add("```go\nunmarked\n```\n<!-- code: x -->\n")
	f.Add("<!-- code: a -->\n```go\n```\n<!-- code: b -->\n```go\nx\n")
	f.Fuzz(func(t *testing.T, page string) {
		bs, err := blocks("p.md", []byte(page))
		if err != nil {
			return
		}
		for _, b := range bs {
			if !b.closed || !strings.Contains(page, b.text) {
				t.Fatalf("block %+v is not closed text of the page", b)
			}
			if !strings.Contains(page, "<!-- "+b.kind+": "+b.file+" -->") {
				t.Fatalf("block %+v has no marker in the page", b)
			}
		}
	})
}
