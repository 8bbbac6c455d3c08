package architecture

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath   string
	Imports      []string // direct, non-test
	Deps         []string // transitive, non-test
	TestImports  []string
	XTestImports []string
}

// rule forbids packages matching from (and not except) to depend on any
// package matching forbid. Patterns are import paths relative to the
// module ("internal/store/..." is the package and everything below it);
// standard library paths are written as they are ("net/http").
type rule struct {
	name   string
	why    string
	from   []string
	except []string
	// direct: only direct imports count; otherwise every package the
	// built code depends on, however indirectly.
	direct bool
	// tests: imports of the package's test files count too.
	tests  bool
	forbid []string
}

var rules = []rule{
	{name: "engines", why: "protocol engines speak the wire and call only the backend interface they define",
		from:   []string{"internal/imap", "internal/pop3"},
		forbid: []string{"internal/service/...", "internal/store/...", "internal/backend/...", "internal/access", "internal/notify", "internal/auth", "internal/delivery", "internal/app"}},
	{name: "delivery", why: "delivery writes mail through the store and tells sessions through notify; it never goes through the admin service layer or the login backends",
		from:   []string{"internal/delivery"},
		forbid: []string{"internal/service/...", "internal/backend/...", "internal/access", "internal/api", "internal/admincenter", "internal/app"}},
	{name: "submission", why: "submission signs users in through the login flow and queues mail through the store; it never goes through the admin service layer",
		from:   []string{"internal/submission"},
		forbid: []string{"internal/service/...", "internal/api", "internal/admincenter", "internal/app"}},
	{name: "service-no-http", why: "the service layer is called by the surfaces and speaks no HTTP itself",
		from:   []string{"internal/service/..."},
		direct: true,
		forbid: []string{"net/http/..."}},
	{name: "service-below-surfaces", why: "the service layer knows nothing of the surfaces above it or the protocols beside it",
		from:   []string{"internal/service/..."},
		forbid: []string{"internal/api", "internal/admincenter", "internal/cmdlet/...", "internal/imap", "internal/pop3", "internal/backend/...", "internal/delivery", "internal/app"}},
	{name: "surfaces", why: "admin surfaces call the service layer only",
		from:   []string{"internal/api", "internal/admincenter"},
		direct: true,
		forbid: []string{"internal/store/...", "internal/access", "internal/notify", "internal/backend/...", "internal/auth"}},
	{name: "user-surfaces", why: "the users' surfaces (/account, client autoconfiguration) call the service layer only; they use access for its protocol names",
		from:   []string{"internal/account", "internal/autoconfig"},
		direct: true,
		forbid: []string{"internal/store/...", "internal/notify", "internal/backend/...", "internal/auth", "internal/admincenter", "internal/api"}},
	{name: "shell", why: "the admin shell is a client of the REST API",
		from:   []string{"internal/cmdlet/..."},
		forbid: []string{"internal/service/...", "internal/store/...", "internal/api", "internal/app"}},
	{name: "api-wire", why: "the REST API's JSON contract is a leaf that both the server and the shell's client import: it imports nothing of Gatehouse",
		from:   []string{"internal/api/wire"},
		direct: true,
		forbid: []string{"internal/..."}},
	{name: "sasl", why: "the SASL mechanisms are the wire half that every protocol engine shares: a leaf that checks nothing itself",
		from:   []string{"internal/sasl"},
		direct: true,
		forbid: []string{"internal/..."}},
	{name: "gcpace", why: "the collector's pacing is a leaf that imports nothing of Gatehouse",
		from:   []string{"internal/gcpace"},
		direct: true,
		forbid: []string{"internal/..."}},
	{name: "gcpace-process", why: "the collector's pacing is the process's: only what runs a server process (app.Run, the bench servers) starts it, never a library or the many servers of one test process",
		from:   []string{"..."},
		except: []string{"internal/app", "internal/gcpace", "bench/..."},
		direct: true, tests: true,
		forbid: []string{"internal/gcpace"}},
	{name: "shell-syntax", why: "the cmdlet parser is a leaf: it imports nothing internal",
		from:   []string{"internal/cmdlet/syntax"},
		direct: true,
		forbid: []string{"internal/..."}},
	{name: "shell-interpreter", why: "the admin shell's packages stack one way: syntax, the interpreter, the REST client, the Exchange cmdlets, the interactive shell",
		from:   []string{"internal/cmdlet", "internal/cmdlet/syntax"},
		forbid: []string{"internal/cmdlet/client", "internal/cmdlet/exchange", "internal/cmdlet/shell", "internal/api/wire"}},
	{name: "shell-client", why: "the REST client knows the interpreter's values and the API's wire types (internal/api/wire), not the cmdlets that call it",
		from:   []string{"internal/cmdlet/client"},
		forbid: []string{"internal/cmdlet/exchange", "internal/cmdlet/shell"}},
	{name: "shell-exchange", why: "the Exchange cmdlets run in any session, with or without the interactive shell",
		from:   []string{"internal/cmdlet/exchange"},
		forbid: []string{"internal/cmdlet/shell"}},
	{name: "store", why: "the storage layer knows nothing above it",
		from:   []string{"internal/store/..."},
		forbid: []string{"internal/service/...", "internal/access", "internal/notify", "internal/backend/...", "internal/imap", "internal/pop3", "internal/app"}},
	{name: "app", why: "internal/app wires the whole server; only main and the test harness that starts a server may build one",
		from:   []string{"..."},
		except: []string{"cmd/...", "internal/testenv/...", "internal/app"},
		direct: true, tests: true,
		forbid: []string{"internal/app"}},
}

// TestImportRules fails for every import that breaks a rule.
func TestImportRules(t *testing.T) {
	module, pkgs := list(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for _, p := range pkgs {
				rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
				if !matchAny(r.from, rel) || matchAny(r.except, rel) {
					continue
				}
				checked++
				deps := p.Deps
				if r.direct {
					deps = p.Imports
				}
				if r.tests {
					deps = slices.Concat(deps, p.TestImports, p.XTestImports)
				}
				for _, d := range deps {
					if d == p.ImportPath {
						continue // an external test package imports its own package
					}
					relDep, inModule := strings.CutPrefix(d, module+"/")
					if !inModule {
						relDep = d
					}
					if matchAny(r.forbid, relDep) {
						t.Errorf("%s depends on %s; want no dependency on %s: %s", rel, relDep, strings.Join(r.forbid, ", "), r.why)
					}
				}
			}
			if checked == 0 {
				t.Errorf("rule matched no package (got 0; want at least 1): %v", r.from)
			}
		})
	}
}

// list runs go list over the module the test sits in.
func list(t *testing.T) (module string, pkgs []pkg) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module = strings.TrimSpace(string(out))
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return module, pkgs
}

func matchAny(patterns []string, path string) bool {
	for _, pat := range patterns {
		if pat == "..." {
			return true
		}
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == pat {
			return true
		}
	}
	return false
}

// TestMatch pins the pattern language of the rules.
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"internal/store/...", "internal/store", true},
		{"internal/store/...", "internal/store/sqlite", true},
		{"internal/store/...", "internal/storex", false},
		{"internal/imap", "internal/imap", true},
		{"internal/imap", "internal/imap/sub", false},
		{"net/http/...", "net/http", true},
		{"net/http/...", "net/http/httptrace", true},
		{"...", "anything", true},
	} {
		t.Run(tc.pattern+" "+tc.path, func(t *testing.T) {
			if got := matchAny([]string{tc.pattern}, tc.path); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}
