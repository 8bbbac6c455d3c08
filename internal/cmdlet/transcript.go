package cmdlet

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// psTranscript is a running Start-Transcript: every statement the session
// runs ("PS> statement") and everything it shows (output, errors,
// warnings, host text) also goes to the file, without colors, under
// PowerShell's header and footer.
type psTranscript struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	out, err io.Writer // the host's writers before the transcript
}

var transcriptANSI = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// Write writes shown text to the file.
func (t *psTranscript) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f != nil {
		_, _ = t.f.Write(transcriptANSI.ReplaceAll(p, nil))
	}
	return len(p), nil
}

// recordStatement writes a statement as the user would have typed it.
func (s *Session) recordStatement(st syntax.Statement) {
	if s.transcript == nil {
		return
	}
	if pl, ok := st.(*syntax.Pipeline); ok && len(pl.Elements) == 1 {
		if c, ok := pl.Elements[0].(*syntax.Command); ok && strings.EqualFold(c.Name, "Start-Transcript") {
			return
		}
	}
	_, _ = s.transcript.Write([]byte("PS> " + st.String() + "\n"))
}

const transcriptRule = "**********************"

func startTranscript() *Cmdlet {
	return &Cmdlet{
		Name: "Start-Transcript", Source: "Microsoft.PowerShell.Host",
		Synopsis:    "Creates a record of all or part of a shell session in a text file.",
		Description: "Writes every command the session runs and everything it shows (output, errors, warnings) to a text file, under PowerShell's transcript header, until Stop-Transcript. Without -Path the file is PowerShell_transcript.<host>.<random>.<time>.txt in the home directory (or -OutputDirectory).",
		Params: []*Param{
			{Name: "Path", Aliases: []string{"LiteralPath", "PSPath"}, Type: TString, Position: 1, Help: "The transcript file."},
			{Name: "OutputDirectory", Type: TString, Help: "The directory of a transcript file with the default name."},
			{Name: "Append", Type: TSwitch, Help: "Adds to the end of an existing file instead of replacing it."},
			{Name: "NoClobber", Aliases: []string{"NoOverwrite"}, Type: TSwitch, Help: "Refuses to replace an existing file."},
			{Name: "Force", Type: TSwitch, Help: "Accepted for compatibility."},
			{Name: "IncludeInvocationHeader", Type: TSwitch, Help: "Accepted for compatibility; every command is recorded anyway."},
		},
		Examples: []Example{{Code: "Start-Transcript -Path ./pop-change.txt; Get-CASMailbox | Set-CASMailbox -PopEnabled $false; Stop-Transcript", Remarks: "Keeps a record of a change."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				s := c.s
				if s.transcript != nil {
					return &Error{Source: c.Cmdlet.Name, Msg: "Transcription has already been started. Use the Stop-Transcript command to stop the transcript that is running, then start a new one."}
				}
				now := s.now()
				host, _ := os.Hostname()
				path := c.String("Path")
				if path == "" {
					dir := c.String("OutputDirectory")
					if dir == "" {
						dir, _ = os.UserHomeDir()
					}
					path = filepath.Join(dir, fmt.Sprintf("PowerShell_transcript.%s.%08d.%s.txt", host, rand.IntN(100000000), now.Format("20060102150405")))
				}
				path = s.path(path)
				flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
				if c.Switch("Append") {
					flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
				}
				if c.Switch("NoClobber") && !c.Switch("Append") {
					flags |= os.O_EXCL
				}
				f, err := os.OpenFile(path, flags, 0o600)
				if err != nil {
					if os.IsExist(err) {
						return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("The file '%s' already exists.", path), Err: err}
					}
					return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Transcription cannot be started due to the error: %v", err), Err: err}
				}
				name := "unknown"
				if u, err := user.Current(); err == nil {
					name = u.Username
				}
				fmt.Fprintf(f, "%s\nPowerShell transcript start\nStart time: %s\nUsername: %s\\%s\nRunAs User: %s\\%s\nConfiguration Name: \nMachine: %s (%s)\nHost Application: gatehouse shell\nProcess ID: %d\nPSVersion: 7.4\nPSEdition: Gatehouse\n%s\n",
					transcriptRule, now.Format("20060102150405"), host, name, host, name, host, runtime.GOOS, os.Getpid(), transcriptRule)
				s.flushOutput()
				t := &psTranscript{f: f, path: path, out: s.host.Out, err: s.host.Err}
				s.transcript = t
				s.host.Out = io.MultiWriter(t.out, t)
				if t.err == t.out {
					s.host.Err = s.host.Out
				} else {
					s.host.Err = io.MultiWriter(t.err, t)
				}
				return c.Emit("Transcript started, output file is " + path)
			}}
		},
	}
}

func stopTranscript() *Cmdlet {
	return &Cmdlet{
		Name: "Stop-Transcript", Source: "Microsoft.PowerShell.Host",
		Synopsis:    "Stops a transcript.",
		Description: "Ends the transcript that Start-Transcript started and closes its file.",
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				s := c.s
				if s.transcript == nil {
					return &Error{Source: c.Cmdlet.Name, Msg: "An error occurred stopping transcription: The host is not currently transcribing."}
				}
				s.flushOutput()
				t := s.transcript
				s.host.Out, s.host.Err = t.out, t.err
				s.transcript = nil
				t.mu.Lock()
				defer t.mu.Unlock()
				fmt.Fprintf(t.f, "%s\nPowerShell transcript end\nEnd time: %s\n%s\n", transcriptRule, s.now().Format("20060102150405"), transcriptRule)
				err := t.f.Close()
				t.f = nil
				if err != nil {
					return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("An error occurred stopping transcription: %v", err), Err: err}
				}
				return c.Emit("Transcript stopped, output file is " + t.path)
			}}
		},
	}
}

// closeTranscript ends a transcript the script left running, as
// PowerShell does when the shell exits.
func (s *Session) closeTranscript() {
	t := s.transcript
	if t == nil {
		return
	}
	s.host.Out, s.host.Err = t.out, t.err
	s.transcript = nil
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.f, "%s\nPowerShell transcript end\nEnd time: %s\n%s\n", transcriptRule, s.now().Format("20060102150405"), transcriptRule)
	_ = t.f.Close()
	t.f = nil
}

// Close ends what the session left open (a transcript).
func (s *Session) Close() { s.closeTranscript() }
