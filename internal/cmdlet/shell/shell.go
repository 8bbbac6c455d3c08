package shell

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/exchange"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
	"github.com/gatehouse-mail/gatehouse/internal/config"
)

// Options configures Run. Empty Server, User and Password fall
// back to GATEHOUSE_SERVER, GATEHOUSE_USER and GATEHOUSE_PASSWORD; a
// missing password is asked for without echo when stdin is a terminal.
type Options struct {
	Server   string // http://127.0.0.1:8080
	User     string
	Password string
	// PasswordFile names a file whose first line is the password
	// (or GATEHOUSE_PASSWORD_FILE), so that it is not on the command line.
	PasswordFile string
	// CAFile and Fingerprint say which https:// certificate to trust
	// (or GATEHOUSE_CA_FILE, GATEHOUSE_FINGERPRINT); see ClientOptions.
	CAFile      string
	Fingerprint string
	// AllowInsecure lets the password go over plain http:// to a host
	// other than loopback.
	AllowInsecure bool
	// Command is the script of -c; ScriptFile a script to run. With
	// neither, the shell reads commands from stdin: interactively (the
	// REPL) when stdin is a terminal, as a script otherwise.
	Command    string
	ScriptFile string
	// ScriptArgs are the arguments after the script file, which its own
	// param() block binds: script.ps1 -Name value.
	ScriptArgs []string
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	// HistoryFile keeps the REPL's history across runs; "" means
	// <user config dir>/gatehouse/shell_history, "-" keeps none.
	HistoryFile string
	HTTPClient  *http.Client
	// Getenv reads the environment; nil is os.Getenv.
	Getenv func(string) string
}

// Main is `gatehouse shell` as a whole: it parses the flags
//
//	--server URL --user NAME --password PASSWORD [-c 'commands' | [-File] script.ps1 [arguments]]
//
// and calls Run. It returns the process exit status. As with pwsh
// -File, everything after the script file is the script's arguments.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var fileArgs []string
	for i, a := range args {
		if strings.EqualFold(a, "-File") || strings.EqualFold(a, "--file") {
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "gatehouse shell: -File needs the name of a script file")
				return 2
			}
			args, fileArgs = args[:i], args[i+1:]
			break
		}
	}
	fs := flag.NewFlagSet("gatehouse shell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Server, "server", "", "URL of the Gatehouse server's admin listener (or GATEHOUSE_SERVER)")
	fs.StringVar(&o.User, "user", "", "administrator user name (or GATEHOUSE_USER)")
	fs.StringVar(&o.Password, "password", "", "password; shows in ps: prefer --password-file or GATEHOUSE_PASSWORD (asked for without echo when missing)")
	fs.StringVar(&o.PasswordFile, "password-file", "", "file whose first line is the password (or GATEHOUSE_PASSWORD_FILE)")
	fs.StringVar(&o.CAFile, "ca-file", "", "PEM certificates to trust for an https:// server (or GATEHOUSE_CA_FILE)")
	fs.StringVar(&o.Fingerprint, "fingerprint", "", "trust the https:// server whose certificate has this SHA-256 fingerprint, as gatehouse serve prints it (or GATEHOUSE_FINGERPRINT)")
	fs.BoolVar(&o.AllowInsecure, "allow-insecure", false, "send the password over plain http:// to a host other than loopback")
	fs.StringVar(&o.Command, "c", "", "run these commands and exit; the exit status is 1 when one failed")
	fs.StringVar(&o.HistoryFile, "history", "", "history file of the interactive shell (\"-\" for none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gatehouse shell [--server URL] [--user NAME] [--password-file FILE] [--fingerprint SHA256 | --ca-file FILE] [-c 'commands' | [-File] script.ps1 [-Param value ...]]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fileArgs != nil {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "gatehouse shell: arguments before -File: %q\n", fs.Args())
			return 2
		}
		o.ScriptFile, o.ScriptArgs = fileArgs[0], fileArgs[1:]
	} else if fs.NArg() > 0 {
		o.ScriptFile, o.ScriptArgs = fs.Arg(0), fs.Args()[1:]
	}
	if o.Command != "" && o.ScriptFile != "" {
		fmt.Fprintln(stderr, "gatehouse shell: give -c or a script file, not both")
		return 2
	}
	o.Stdin, o.Stdout, o.Stderr = stdin, stdout, stderr
	return Run(ctx, o)
}

// terminalFD returns the file descriptor of a terminal, or -1.
func terminalFD(v any) int {
	f, ok := v.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return -1
	}
	return int(f.Fd())
}

// Run runs the admin shell and returns its exit status: in -c and
// script mode 1 when a command failed (or a parse error stopped the
// script), 130 when interrupted, the code of exit N; 0 otherwise.
func Run(ctx context.Context, o Options) int {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	orEnv := func(v, key string) string {
		if v != "" {
			return v
		}
		return getenv(key)
	}
	server := orEnv(o.Server, "GATEHOUSE_SERVER")
	user := orEnv(o.User, "GATEHOUSE_USER")
	password := orEnv(o.Password, "GATEHOUSE_PASSWORD")
	if file := orEnv(o.PasswordFile, "GATEHOUSE_PASSWORD_FILE"); file != "" && o.Password == "" {
		pw, err := config.ReadSecretFile(file)
		if err != nil {
			fmt.Fprintf(o.Stderr, "gatehouse shell: --password-file: %v\n", err)
			return 2
		}
		password = pw
	}
	inFD := terminalFD(o.Stdin)
	outFD := terminalFD(o.Stdout)
	interactive := o.Command == "" && o.ScriptFile == "" && inFD >= 0

	// what the shell signs in with, and Connect-ExchangeOnline by default
	connect := cmdlet.ClientOptions{Server: server, User: user, HTTPClient: o.HTTPClient,
		CAFile: orEnv(o.CAFile, "GATEHOUSE_CA_FILE"), Fingerprint: orEnv(o.Fingerprint, "GATEHOUSE_FINGERPRINT"),
		AllowInsecure: o.AllowInsecure}
	var api cmdlet.API
	if server != "" {
		if user == "" {
			fmt.Fprintln(o.Stderr, "gatehouse shell: --user (or GATEHOUSE_USER) is needed with --server")
			return 2
		}
		if password == "" {
			if inFD < 0 {
				fmt.Fprintln(o.Stderr, "gatehouse shell: no password: give --password, set GATEHOUSE_PASSWORD, or run in a terminal to be asked for it")
				return 2
			}
			pw, err := readPassword(inFD, fmt.Sprintf("Password for %s: ", user), o.Stderr)
			fmt.Fprintln(o.Stderr)
			if err != nil {
				fmt.Fprintf(o.Stderr, "gatehouse shell: reading the password: %v\n", err)
				return 2
			}
			password = string(pw)
		}
		connect.Password = password
		conn, err := client.New(connect)
		if err != nil {
			fmt.Fprintf(o.Stderr, "gatehouse shell: %v\n", err)
			return 2
		}
		if err := conn.Login(ctx); err != nil {
			fmt.Fprintf(o.Stderr, "gatehouse shell: %s\n", cmdlet.APIMessage(err))
			if !interactive {
				return 1
			}
		}
		api = conn
	}
	host := cmdlet.Host{Out: o.Stdout, Err: o.Stderr, Color: outFD >= 0 && getenv("NO_COLOR") == ""}
	if terminalFD(o.Stderr) >= 0 && outFD >= 0 {
		// Progress only on a terminal, never into redirected output.
		host.Progress = o.Stderr
	}
	if outFD >= 0 {
		if w, _, err := term.GetSize(outFD); err == nil && w > 0 {
			host.Width = w
		}
	}
	dir, _ := os.Getwd()
	s := cmdlet.NewSession(cmdlet.SessionOptions{Host: host, Registry: exchange.DefaultRegistry(), API: api, Dir: dir, Connect: connect})
	defer s.Close()

	switch {
	case o.Command != "":
		return runSource(ctx, s, o.Command)
	case o.ScriptFile != "":
		data, err := os.ReadFile(o.ScriptFile)
		if err != nil {
			fmt.Fprintf(o.Stderr, "gatehouse shell: %v\n", err)
			return 1
		}
		s.SetScriptArguments(o.ScriptFile, o.ScriptArgs)
		return runSource(ctx, s, strings.TrimPrefix(string(data), "\ufeff"))
	case !interactive:
		data, err := io.ReadAll(o.Stdin)
		if err != nil {
			fmt.Fprintf(o.Stderr, "gatehouse shell: reading commands: %v\n", err)
			return 1
		}
		return runSource(ctx, s, string(data))
	}
	r := &repl{s: s, in: o.Stdin.(*os.File), fd: inFD, out: o.Stdout, errw: o.Stderr, server: server, user: user}
	r.historyPath = o.HistoryFile
	if r.historyPath == "" {
		if cfg, err := os.UserConfigDir(); err == nil {
			r.historyPath = filepath.Join(cfg, "gatehouse", "shell_history")
		}
	}
	if r.historyPath == "-" {
		r.historyPath = ""
	}
	return r.run(ctx)
}

// runSource runs a whole script (-c, a file, or piped stdin).
func runSource(ctx context.Context, s *cmdlet.Session, src string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	err := s.Execute(ctx, src)
	var pe *syntax.Error
	var ee *cmdlet.ExitError
	switch {
	case errors.As(err, &pe):
		s.WriteError(err)
		return 1
	case errors.As(err, &ee):
		return ee.Code
	case err != nil && ctx.Err() != nil:
		return 130
	case err != nil:
		s.WriteError(err)
		return 1
	}
	if s.Failed() {
		return 1
	}
	return 0
}

// repl is the interactive shell: a line editor (golang.org/x/term) in raw
// mode while reading, cooked mode while a command runs so that Ctrl-C
// interrupts it.
type repl struct {
	s           *cmdlet.Session
	in          *os.File
	fd          int
	out, errw   io.Writer
	server      string
	user        string
	historyPath string
}

// ctrlCReader turns Ctrl-C into End, Ctrl-U, Enter for x/term's editor
// (which would otherwise end input as Ctrl-D does) and remembers it, so
// that the REPL drops the line: Ctrl-C cancels the line, Ctrl-D exits.
type ctrlCReader struct {
	r   io.Reader
	mu  sync.Mutex
	hit bool
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	buf := make([]byte, max(len(p)/3, 1))
	n, err := c.r.Read(buf)
	out := p[:0]
	for _, b := range buf[:n] {
		if b == 3 {
			c.mu.Lock()
			c.hit = true
			c.mu.Unlock()
			out = append(out, 5, 21, '\r')
			continue
		}
		out = append(out, b)
	}
	return len(out), err
}

func (c *ctrlCReader) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := c.hit
	c.hit = false
	return hit
}

func (r *repl) run(ctx context.Context) int {
	hist := loadHistory(r.historyPath)
	rd := &ctrlCReader{r: r.in}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{rd, r.out}, "PS> ")
	t.History = hist
	comp := NewCompleter(r.s)
	t.AutoCompleteCallback = tabCycler(ctx, comp)
	r.s.Host().Prompt = r.prompt

	if r.server != "" {
		fmt.Fprintf(r.out, "Gatehouse admin shell, connected to %s as %s.\n", r.server, r.user)
	} else {
		fmt.Fprintln(r.out, "Gatehouse admin shell, not connected: sign in with Connect-ExchangeOnline -ConnectionUri URL -UserPrincipalName NAME, or start the shell with --server URL --user NAME.")
	}
	fmt.Fprintln(r.out, "Get-Command lists the commands, Get-Help <command> explains one; Tab completes; exit or Ctrl-D leaves.")

	var pending []string
	for {
		if ctx.Err() != nil {
			return 0
		}
		prompt := "PS> "
		if len(pending) > 0 {
			prompt = ">> "
		}
		t.SetPrompt(prompt)
		state, err := term.MakeRaw(r.fd)
		if err != nil {
			fmt.Fprintf(r.errw, "gatehouse shell: %v\n", err)
			return 1
		}
		if w, h, err := term.GetSize(r.fd); err == nil {
			_ = t.SetSize(w, h)
			r.s.Host().Width = w
		}
		line, err := t.ReadLine()
		_ = term.Restore(r.fd, state)
		if rd.take() {
			fmt.Fprint(r.out, "^C\n")
			pending = nil
			continue
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(r.out)
			return 0
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			fmt.Fprintf(r.errw, "gatehouse shell: %v\n", err)
			return 1
		}
		// An empty line at the >> prompt submits what was typed, as in
		// PowerShell, so that an open construct can be given up on.
		submit := line == "" && len(pending) > 0
		pending = append(pending, line)
		src := strings.Join(pending, "\n")
		if strings.TrimSpace(src) == "" {
			pending = nil
			continue
		}
		var pe *syntax.Error
		if _, err := syntax.Parse(src); errors.As(err, &pe) && pe.Incomplete && !submit {
			continue
		}
		pending = nil
		if code, exit := r.execute(ctx, src); exit {
			return code
		}
	}
}

// execute runs one command line; Ctrl-C (SIGINT, the terminal being in
// cooked mode) cancels it.
func (r *repl) execute(ctx context.Context, src string) (int, bool) {
	cmdCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	err := r.s.Execute(cmdCtx, src)
	var ee *cmdlet.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code, true
	case err != nil && cmdCtx.Err() != nil && ctx.Err() == nil:
		fmt.Fprintln(r.errw, "The command was interrupted.")
	case err != nil:
		r.s.WriteError(err)
	}
	return 0, false
}

// prompt asks the user for a value while a command runs (cooked mode).
func (r *repl) prompt(text string, secret bool) (string, error) {
	fmt.Fprint(r.out, text)
	if secret {
		b, err := term.ReadPassword(r.fd)
		fmt.Fprintln(r.out)
		return string(b), err
	}
	var line []byte
	var b [1]byte
	for {
		n, err := r.in.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return strings.TrimRight(string(line), "\r"), nil
			}
			line = append(line, b[0])
		}
		if err != nil {
			return string(line), err
		}
	}
}

// tabCycler completes on Tab and, on further Tabs, cycles through the
// candidates, as PowerShell does.
func tabCycler(ctx context.Context, comp *Completer) func(string, int, rune) (string, int, bool) {
	var last struct {
		line, orig          string
		pos, origPos, start int
		cands               []string
		idx                 int
	}
	return func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			last.cands = nil
			return "", 0, false
		}
		if last.cands != nil && line == last.line && pos == last.pos {
			last.idx = (last.idx + 1) % len(last.cands)
		} else {
			start, cands := comp.Complete(ctx, line, pos)
			if len(cands) == 0 {
				last.cands = nil
				return "", 0, false
			}
			last.orig, last.origPos, last.start, last.cands, last.idx = line, pos, start, cands, 0
		}
		c := last.cands[last.idx]
		newLine := last.orig[:last.start] + c + last.orig[last.origPos:]
		last.line, last.pos = newLine, last.start+len(c)
		return newLine, last.pos, true
	}
}

// history is the REPL's history: in memory for Up/Down, and appended to a
// file, except lines that look like they hold a secret (PSReadLine's rule:
// password, asplaintext, token, apikey, secret).
type history struct {
	entries []string
	path    string
}

const historyMax = 1000

var sensitiveRE = regexp.MustCompile(`(?i)password|asplaintext|token|apikey|secret`)

func loadHistory(path string) *history {
	h := &history{path: path}
	if path == "" {
		return h
	}
	f, err := os.Open(path)
	if err != nil {
		return h
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			h.entries = append(h.entries, l)
		}
	}
	if len(h.entries) > historyMax {
		h.entries = h.entries[len(h.entries)-historyMax:]
	}
	return h
}

// Add records an entry (x/term's History).
func (h *history) Add(entry string) {
	if strings.TrimSpace(entry) == "" || len(h.entries) > 0 && h.entries[len(h.entries)-1] == entry {
		return
	}
	h.entries = append(h.entries, entry)
	if len(h.entries) > historyMax {
		h.entries = h.entries[1:]
	}
	if h.path == "" || sensitiveRE.MatchString(entry) {
		return
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	fmt.Fprintln(f, entry)
	_ = f.Close()
}

// Len is the number of entries.
func (h *history) Len() int { return len(h.entries) }

// At returns an entry; 0 is the most recent.
func (h *history) At(i int) string { return h.entries[len(h.entries)-1-i] }
