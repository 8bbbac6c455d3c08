package shell

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// Completer proposes completions for the REPL's Tab key: cmdlet names and
// aliases where a command goes, parameter names after '-', variable names
// after '$', mailbox identities for -Identity (and the first positional
// argument of the mailbox cmdlets), and file names for -Path.
type Completer struct {
	s *cmdlet.Session
	// cache holds identity candidates by typed prefix, for a minute.
	mu        sync.Mutex
	cache     map[string][]string
	idsAt     time.Time
	idTimeout time.Duration
}

// NewCompleter returns a completer for a session.
func NewCompleter(s *cmdlet.Session) *Completer {
	return &Completer{s: s, idTimeout: 2 * time.Second}
}

// Complete returns the candidates for the word that ends at pos in line,
// and where that word starts.
func (cp *Completer) Complete(ctx context.Context, line string, pos int) (start int, candidates []string) {
	before := line[:pos]
	start = wordStart(before)
	word := before[start:]
	// the text of the current command: after the last | ; ( { outside quotes
	cmdStart := commandStart(before[:start])
	words := strings.Fields(before[cmdStart:start])
	atCommand := len(words) == 0
	switch {
	case strings.HasPrefix(word, "$"):
		return start, matchPrefix(word[1:], cp.s.VariableNames(), "$")
	case atCommand:
		var names []string
		for _, c := range cp.s.Registry().Cmdlets() {
			names = append(names, c.Name)
		}
		for a := range cp.s.Registry().Aliases() {
			if len(a) > 2 {
				names = append(names, a)
			}
		}
		return start, matchPrefix(word, names, "")
	case strings.HasPrefix(word, "-"):
		cm, ok := cp.s.Registry().Lookup(words[0])
		if !ok {
			return start, nil
		}
		var names []string
		for _, p := range cm.AllParams() {
			names = append(names, p.Name)
		}
		return start, matchPrefix(word[1:], names, "-")
	}
	cm, ok := cp.s.Registry().Lookup(words[0])
	if !ok {
		return start, nil
	}
	prev := words[len(words)-1]
	param := ""
	if strings.HasPrefix(prev, "-") && len(words) > 1 {
		if p, err := cmdlet.ResolveParam(cm, strings.TrimSuffix(prev[1:], ":")); err == nil {
			param = p.Name
		}
	} else if len(words) == 1 {
		for _, p := range cm.Params {
			if p.Position == 1 {
				param = p.Name
			}
		}
	}
	switch {
	case param == "Identity" && cm.NeedsServer && strings.Contains(cm.Name, "ailbox"):
		return start, cp.identities(ctx, word)
	case param == "Path" || param == "FilePath":
		return start, cp.files(word)
	case param != "":
		if p, err := cmdlet.ResolveParam(cm, param); err == nil && len(p.Enum) > 0 {
			return start, matchPrefix(word, p.Enum, "")
		}
		if p, err := cmdlet.ResolveParam(cm, param); err == nil && (p.Type == cmdlet.TBool || p.Type == cmdlet.TSwitch) {
			return start, matchPrefix(strings.TrimPrefix(word, "$"), []string{"true", "false"}, "$")
		}
	}
	return start, nil
}

// wordStart finds the start of the word being typed: after the last space
// or separator, or at an open quote.
func wordStart(s string) int {
	inQuote := rune(0)
	qpos := -1
	last := 0
	for i, r := range s {
		switch {
		case inQuote != 0:
			if r == inQuote {
				inQuote = 0
			}
		case r == '\'' || r == '"':
			inQuote, qpos = r, i
		case r == ' ' || r == '\t' || r == '|' || r == ';' || r == '(' || r == '{' || r == ',' || r == '=':
			last = i + 1
		}
	}
	if inQuote != 0 {
		return qpos
	}
	return last
}

func commandStart(s string) int {
	inQuote := rune(0)
	last := 0
	for i, r := range s {
		switch {
		case inQuote != 0:
			if r == inQuote {
				inQuote = 0
			}
		case r == '\'' || r == '"':
			inQuote = r
		case r == '|' || r == ';' || r == '(' || r == '{':
			last = i + 1
		}
	}
	return last
}

// matchPrefix returns the names that start with word (ignoring case, or
// matching it as a wildcard), sorted, each with prefix prepended.
func matchPrefix(word string, names []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	wild := strings.ContainsAny(word, "*?")
	for _, n := range names {
		ok := strings.HasPrefix(strings.ToLower(n), strings.ToLower(word))
		if wild {
			ok = cmdlet.Like(word+"*", n, false)
		}
		if ok && !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, prefix+n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

// identities completes mailbox names and aliases, quoting those with
// spaces. The server finds them by prefix (?search=), so that completion
// stays quick with many mailboxes; answers are cached for a minute.
func (cp *Completer) identities(ctx context.Context, word string) []string {
	cl, ok := cp.s.API().(*client.Client)
	if !ok {
		return nil
	}
	bare := strings.TrimLeft(word, `'"`)
	key := strings.ToLower(bare)
	cp.mu.Lock()
	if cp.cache == nil || time.Since(cp.idsAt) > time.Minute {
		cp.cache, cp.idsAt = map[string][]string{}, time.Now()
	}
	ids, ok := cp.cache[key]
	cp.mu.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, cp.idTimeout)
		defer cancel()
		q := url.Values{}
		if bare != "" {
			q.Set("search", bare)
		}
		err := client.List(ctx, cl, client.Mailboxes, q, 200, func(m wire.Mailbox) error {
			for _, v := range []string{m.Name, m.Alias} {
				if v != "" {
					ids = append(ids, v)
				}
			}
			return nil
		})
		if err != nil {
			return nil
		}
		cp.mu.Lock()
		cp.cache[key] = ids
		cp.mu.Unlock()
	}
	var out []string
	for _, m := range matchPrefix(bare, ids, "") {
		if strings.ContainsAny(m, " '\"$`") {
			m = "'" + strings.ReplaceAll(m, "'", "''") + "'"
		}
		out = append(out, m)
	}
	return out
}

func (cp *Completer) files(word string) []string {
	dir, base := filepath.Split(strings.Trim(word, `'"`))
	lookIn := dir
	if lookIn == "" {
		lookIn = "."
	}
	if !filepath.IsAbs(lookIn) && cp.s.Dir() != "" {
		lookIn = filepath.Join(cp.s.Dir(), lookIn)
	}
	entries, err := os.ReadDir(lookIn)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += string(filepath.Separator)
		}
		names = append(names, n)
	}
	var out []string
	for _, m := range matchPrefix(base, names, dir) {
		if strings.ContainsAny(m, " '") {
			m = "'" + strings.ReplaceAll(m, "'", "''") + "'"
		}
		out = append(out, m)
	}
	return out
}
