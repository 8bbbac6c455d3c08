package cmdlet

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// progressLine is the one progress line a terminal shows, as PowerShell
// shows Write-Progress: drawn over itself, cleared before anything else is
// written (Out and Err go through clearFirst). Without a terminal there is
// no progressLine, and progress is never written into redirected output.
type progressLine struct {
	w     io.Writer // the terminal
	width int
	shown bool
	last  time.Time
}

// progressEvery is how often a progress line is redrawn at most.
const progressEvery = 200 * time.Millisecond

// draw shows text, at most every progressEvery unless force.
func (p *progressLine) draw(now time.Time, text string, force bool) {
	if p == nil || !force && now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	fmt.Fprint(p.w, "\r\x1b[K"+truncate(text, max(p.width-1, 10)))
	p.shown = true
}

// clear removes the line, if one is shown.
func (p *progressLine) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}

// clearFirst clears the progress line before anything is written.
type clearFirst struct {
	io.Writer
	p *progressLine
}

func (c clearFirst) Write(b []byte) (int, error) {
	c.p.clear()
	return c.Writer.Write(b)
}

// pipeProgress counts the objects a pipeline hands to its working command.
// Pipelines of more than progressItems objects that run longer than
// progressAfter show "Set-CASMailbox: 1,200 of 2,000 processed (60 %)"
// (or without the total when it is not known in advance).
type pipeProgress struct {
	name  string
	n     int
	total int // 0: unknown
	start time.Time
}

const (
	progressItems = 100
	progressAfter = time.Second
)

func (s *Session) tick(pp *pipeProgress) {
	pp.n++
	if s.progress == nil || pp.n <= progressItems {
		return
	}
	now := s.now()
	if now.Sub(pp.start) < progressAfter {
		return
	}
	text := fmt.Sprintf("%s: %s processed", pp.name, groupDigits(pp.n))
	if pp.total > 0 {
		text = fmt.Sprintf("%s: %s of %s processed (%d %%)", pp.name, groupDigits(pp.n), groupDigits(pp.total), pp.n*100/pp.total)
	}
	s.progress.draw(now, text, false)
}

// groupDigits writes n with thousands separators (1,234).
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeProgress() *Cmdlet {
	return &Cmdlet{
		Name: "Write-Progress", Source: srcUtility,
		Synopsis:    "Displays a progress bar.",
		Description: "Shows one progress line on the terminal (activity, status, a bar for -PercentComplete, the current operation), drawn over itself and removed with -Completed or when the command line ends. Nothing is written when the output is not a terminal.",
		Params: []*Param{
			{Name: "Activity", Type: TString, Position: 1, Help: "What is being done."},
			{Name: "Status", Type: TString, Position: 2, Help: "Where it stands."},
			{Name: "Id", Type: TInt, Help: "Accepted; one progress line is shown."},
			{Name: "PercentComplete", Type: TInt, Help: "How far it is, 0 to 100 (-1: unknown)."},
			{Name: "SecondsRemaining", Type: TInt, Help: "How long it still takes."},
			{Name: "CurrentOperation", Type: TString, Help: "The step under way."},
			{Name: "Completed", Type: TSwitch, Help: "Removes the progress line."},
		},
		Examples: []Example{{Code: `$all = Get-Mailbox -ResultSize Unlimited; $i = 0; foreach ($m in $all) { $i++; Write-Progress -Activity "Checking" -Status $m.Name -PercentComplete ($i * 100 / $all.Count) }`,
			Remarks: "A progress bar over a loop."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				if c.Switch("Completed") {
					c.s.progress.clear()
					return nil
				}
				pct, hasPct := c.Int("PercentComplete")
				if hasPct && (pct < -1 || pct > 100) {
					return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot validate argument on parameter 'PercentComplete'. The %d argument is greater than the maximum allowed range of 100. Supply an argument that is less than or equal to 100 and then try the command again.", pct)}
				}
				activity := c.String("Activity")
				if activity == "" {
					return &Error{Source: c.Cmdlet.Name, Msg: "Cannot bind argument to parameter 'Activity' because it is an empty string."}
				}
				text := activity
				if st := c.String("Status"); st != "" {
					text += ": " + st
				}
				if hasPct && pct >= 0 {
					const bar = 20
					done := int(pct) * bar / 100
					text += fmt.Sprintf(" [%s%s] %d%%", strings.Repeat("o", done), strings.Repeat(" ", bar-done), pct)
				}
				if secs, ok := c.Int("SecondsRemaining"); ok && secs >= 0 {
					text += fmt.Sprintf(" %s remaining", time.Duration(secs)*time.Second)
				}
				if op := c.String("CurrentOperation"); op != "" {
					text += "  " + op
				}
				c.s.progress.draw(c.s.now(), text, false)
				return nil
			}}
		},
	}
}
