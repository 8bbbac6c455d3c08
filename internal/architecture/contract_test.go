package architecture

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/api"
)

// The REST API's JSON contract is written once, in internal/api/wire:
// the server encodes those types and the admin shell's client decodes
// them. TestSingleContract fails when a second copy creeps back into the
// shell: a JSON answer read into generic values (cmdlet.DecodeJSON) or by
// string keys on the shell's objects (o.Get("PopEnabled")), or a route of
// the API whose body or answer the client does not read through its wire
// type.

// shellPackages are the packages of the shell that talk to the server.
var shellPackages = []string{"internal/cmdlet/client", "internal/cmdlet/exchange", "internal/cmdlet/shell"}

// notCalledByShell are the wire types of routes the shell has no use for,
// with the reason; every other schema the OpenAPI document names must be
// a wire type the shell's packages use.
var notCalledByShell = map[string]string{
	"Me": "GET /api/v1/me serves the admin center's header; the shell knows whom it signed in as",
}

type typedPackage struct {
	path  string
	fset  *token.FileSet
	files []*ast.File
	info  *types.Info
}

// loadTyped type-checks the non-test files of the shell's packages
// against the export data the go command builds.
func loadTyped(t *testing.T, module string) []typedPackage {
	t.Helper()
	var paths []string
	for _, p := range shellPackages {
		paths = append(paths, module+"/"+p)
	}
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-json=ImportPath,Export,Dir,GoFiles"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	type listed struct {
		ImportPath, Export, Dir string
		GoFiles                 []string
	}
	exports := map[string]string{}
	var targets []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		exports[p.ImportPath] = p.Export
		for _, want := range paths {
			if p.ImportPath == want {
				targets = append(targets, p)
			}
		}
	}
	if len(targets) != len(paths) {
		t.Fatalf("go list found %d of the packages %v", len(targets), paths)
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, errors.New("no export data for " + path)
		}
		return os.Open(f)
	})
	var pkgs []typedPackage
	for _, p := range targets {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		pkgs = append(pkgs, typedPackage{path: p.ImportPath, fset: fset, files: files, info: info})
	}
	return pkgs
}

func TestSingleContract(t *testing.T) {
	module, _ := list(t)
	pkgs := loadTyped(t, module)
	doc := api.New(api.Options{}).OpenAPI()
	answered := answerProperties(doc)
	// MicrosoftOnlineServicesID is in a request body (New-Mailbox) only.
	if !answered["PopEnabled"] || !answered["ModifiedProperties"] || answered["MicrosoftOnlineServicesID"] {
		t.Fatalf("the properties of the API's answers are read wrong: %v", answered)
	}
	objectType := "*" + module + "/internal/cmdlet.Object"
	decodeJSON := module + "/internal/cmdlet.DecodeJSON"
	wirePath := module + "/internal/api/wire"
	usedWire := map[string]bool{}
	for _, p := range pkgs {
		for id, obj := range p.info.Uses {
			if obj.Pkg() != nil && obj.Pkg().Path() == wirePath {
				if _, isType := obj.(*types.TypeName); isType {
					usedWire[id.Name] = true
				}
			}
			if fn, ok := obj.(*types.Func); ok && fn.FullName() == decodeJSON {
				t.Errorf("%s calls cmdlet.DecodeJSON: decode the server's answers into their types in internal/api/wire (cmdlet.DecodeJSON is ConvertFrom-Json's)", p.path)
			}
		}
		for _, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Get" && sel.Sel.Name != "Has") {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				if tv, ok := p.info.Types[sel.X]; ok && tv.Type.String() == objectType && answered[name] {
					t.Errorf("%s reads property %q of a *cmdlet.Object by name, a property of the API's answers: read the field of its wire type instead (the contract is internal/api/wire)",
						p.fset.Position(call.Pos()), name)
				}
				return true
			})
		}
	}
	if len(usedWire) == 0 {
		t.Fatal("the shell's packages use no type of internal/api/wire")
	}

	// every body and answer of the API is a wire type the shell uses
	paths := doc["paths"].(map[string]any)
	var missing []string
	seen := map[string]bool{}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			for _, name := range schemaNames(op) {
				if seen[name] {
					continue
				}
				seen[name] = true
				wireName, _ := strings.CutSuffix(name, "List") // ListBody[T] is documented as TList
				if usedWire[name] || usedWire[wireName] && usedWire["ListBody"] {
					continue
				}
				if _, ok := notCalledByShell[name]; ok {
					continue
				}
				missing = append(missing, strings.ToUpper(method)+" "+path+": "+name)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is not a type of internal/api/wire that the shell's client uses; the route's JSON must be a wire type, read through it (or, for a route the shell has no use for, listed in notCalledByShell with the reason)", m)
	}
	if len(seen) < 10 {
		t.Errorf("the OpenAPI document names only %d schemas; the test reads it wrong", len(seen))
	}
}

// schemaNames returns the component schemas an operation's request body
// and answers refer to; the error answer ("default") is ErrorBody.
func schemaNames(op any) []string {
	m, _ := op.(map[string]any)
	names := refs(m["requestBody"])
	rs, _ := m["responses"].(map[string]any)
	for status, r := range rs {
		if status == "default" {
			names = append(names, "ErrorBody")
			continue
		}
		names = append(names, refs(r)...)
	}
	return names
}

// answerProperties returns the names of the properties of the API's
// answers: of the schemas the success responses refer to, and of the
// schemas those refer to.
func answerProperties(doc map[string]any) map[string]bool {
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var queue []string
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			m, _ := op.(map[string]any)
			rs, _ := m["responses"].(map[string]any)
			for status, r := range rs {
				if status != "default" {
					queue = append(queue, refs(r)...)
				}
			}
		}
	}
	props := map[string]bool{}
	done := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if done[name] {
			continue
		}
		done[name] = true
		s, _ := schemas[name].(map[string]any)
		ps, _ := s["properties"].(map[string]any)
		for p, v := range ps {
			props[p] = true
			queue = append(queue, refs(v)...)
		}
	}
	return props
}

// refs returns the schema names of the $refs in v.
func refs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "$ref" {
				out = append(out, s[strings.LastIndex(s, "/")+1:])
				continue
			}
			out = append(out, refs(c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, refs(c)...)
		}
	}
	return out
}
