package admincenter

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// A Bulk Edit runs as a job: the POST that starts it answers at once with
// a redirect to the job's page, which shows its progress (the script polls
// the job's status as JSON; without the script the page refreshes itself)
// and, when it ends, the result of every mailbox with a CSV download.
//
// Why a job and not one long request or a stream: a change over 100,000
// mailboxes takes tens of seconds; a request held that long is cut by
// proxies and browsers, a stream is buffered by some proxies (the page
// would show nothing until the end), and neither survives a reload or a
// second tab. A job keeps running when the page goes away, and its page
// can be opened again until it is forgotten (jobKeep after it ended).
//
// The job goes through the same service method as every other Bulk Edit
// (SetCASMailboxes: the permission and write-scope check, the audit record
// and the session kicks of each mailbox as for a single edit), in slices of
// jobSlice mailboxes, so that its progress moves. Before each slice it
// signs the administrator in again with the session's token: a role taken
// away or a sign-out during the job stops it, and the mailboxes not yet
// tried are listed as such.
//
// Jobs live in the memory of the node that runs them: with several nodes,
// the job's page must reach the same node (sticky sessions), and a restart
// forgets them (what they changed is in the audit log).

// jobSlice is how many mailboxes one call of the service changes.
const jobSlice = 250

// jobKeep is how long a finished job stays readable.
const jobKeep = time.Hour

// jobShown bounds how many results the job's page lists; the CSV has all.
const jobShown = 500

// The outcomes of one mailbox in a job.
const (
	outcomeChanged  = "Changed"
	outcomeNoChange = "No change"
	outcomeFailed   = "Failed"
	outcomeNotTried = "Not tried"
)

// jobResult is one mailbox's line in a job's result list.
type jobResult struct {
	Identity string
	Outcome  string
	Reason   string
}

// The states of a job.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobStopped = "stopped"
)

// bulkJob is one running or finished Bulk Edit.
type bulkJob struct {
	ID      string
	Owner   int64 // the administrator's mailbox ID: only they see it
	Action  bulkAction
	Scope   string // what was selected, in words
	Back    string // the list as it was
	Started time.Time

	stopOnce sync.Once
	stopped  chan struct{} // closed by Stop: no further slice starts

	mu       sync.Mutex
	state    string
	total    int
	results  []jobResult
	sessions []service.OpenSession // closed by the changes
	problem  string                // why it stopped early
	finished time.Time
}

// jobStatus is what the status endpoint answers.
type jobStatus struct {
	State    string `json:"state"`
	Total    int    `json:"total"`
	Done     int    `json:"done"`
	Changed  int    `json:"changed"`
	NoChange int    `json:"noChange"`
	Failed   int    `json:"failed"`
	NotTried int    `json:"notTried"`
	Problem  string `json:"problem,omitempty"`
}

func (j *bulkJob) status() jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := jobStatus{State: j.state, Total: j.total, Problem: j.problem}
	for _, r := range j.results {
		switch r.Outcome {
		case outcomeChanged:
			st.Changed++
		case outcomeNoChange:
			st.NoChange++
		case outcomeFailed:
			st.Failed++
		case outcomeNotTried:
			st.NotTried++
		}
	}
	st.Done = st.Changed + st.NoChange + st.Failed
	return st
}

// resultsCopy returns the results, failures first, in the order tried.
func (j *bulkJob) resultsCopy() []jobResult {
	j.mu.Lock()
	out := append([]jobResult(nil), j.results...)
	j.mu.Unlock()
	rank := map[string]int{outcomeFailed: 0, outcomeNotTried: 1, outcomeChanged: 2, outcomeNoChange: 3}
	sort.SliceStable(out, func(a, b int) bool { return rank[out[a].Outcome] < rank[out[b].Outcome] })
	return out
}

// stop asks the job to stop before its next slice: a slice under way
// finishes, so that no mailbox is left half done or unaudited.
func (j *bulkJob) stop() { j.stopOnce.Do(func() { close(j.stopped) }) }

func (j *bulkJob) stopRequested() bool {
	select {
	case <-j.stopped:
		return true
	default:
		return false
	}
}

func (j *bulkJob) add(rs ...jobResult) {
	j.mu.Lock()
	j.results = append(j.results, rs...)
	j.mu.Unlock()
}

func (j *bulkJob) finish(state, problem string) {
	j.mu.Lock()
	j.state, j.finished = state, time.Now()
	if j.problem == "" {
		j.problem = problem
	}
	j.mu.Unlock()
}

// bulkJobs holds a Center's jobs.
type bulkJobs struct {
	mu   sync.Mutex
	jobs map[string]*bulkJob
}

func (b *bulkJobs) add(j *bulkJob) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.jobs == nil {
		b.jobs = map[string]*bulkJob{}
	}
	for id, old := range b.jobs {
		old.mu.Lock()
		gone := old.state != jobRunning && time.Since(old.finished) > jobKeep
		old.mu.Unlock()
		if gone {
			delete(b.jobs, id)
		}
	}
	b.jobs[j.ID] = j
}

// get returns the caller's job, or a not-found error: another
// administrator's job is not theirs to see.
func (b *bulkJobs) get(id string, owner int64) (*bulkJob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j, ok := b.jobs[id]
	if !ok || j.Owner != owner {
		return nil, userError(http.StatusNotFound, "Bulk Edit not found",
			"This Bulk Edit is not known here: it ended more than an hour ago, the server restarted, or another administrator started it. The admin audit log lists every change it made.")
	}
	return j, nil
}

// run applies the job's action to the mailboxes it names, or to those the
// search matches now (all). The token signs the administrator in again
// before each slice.
func (c *Center) runJob(ctx context.Context, j *bulkJob, token, address string, ids []string, all *listState) {
	// names are what the results call the mailboxes before the service
	// has named them (a failed item's result names none): the names the
	// search listed, else what was selected (GUIDs).
	names := ids
	if all != nil {
		var err error
		if ids, names, err = c.matching(ctx, token, address, *all); err != nil {
			j.finish(jobStopped, "The mailboxes that match could not be listed: "+describe(err).Message)
			return
		}
	}
	j.mu.Lock()
	j.total = len(ids)
	j.mu.Unlock()
	notTried := func(from int, why string) {
		rs := make([]jobResult, 0, len(ids)-from)
		for _, name := range names[from:] {
			rs = append(rs, jobResult{Identity: name, Outcome: outcomeNotTried, Reason: why})
		}
		j.add(rs...)
	}
	for start := 0; start < len(ids); start += jobSlice {
		slice := ids[start:min(start+jobSlice, len(ids))]
		if j.stopRequested() {
			notTried(start, "Stopped before this mailbox was tried.")
			j.finish(jobStopped, "Stopped by the administrator.")
			return
		}
		caller, err := c.svc.Authenticate(ctx, token, service.SurfaceAdminCenter, address)
		if err != nil {
			why := "The sign-in ended (signed out or expired) before this mailbox was tried."
			notTried(start, why)
			j.finish(jobStopped, why)
			return
		}
		results, err := c.svc.SetCASMailboxes(ctx, caller, j.Action.requests(slice, false))
		for i, res := range results {
			r := jobResult{Identity: names[start+i]}
			switch {
			case res.Err != nil:
				r.Outcome, r.Reason = outcomeFailed, describe(res.Err).Message
			case res.NoChange:
				r.Identity, r.Outcome = res.Identity, outcomeNoChange
			default:
				r.Identity, r.Outcome = res.Identity, outcomeChanged
				if line := sessionsLine(res.Sessions); line != "" {
					r.Reason = line
				}
				j.mu.Lock()
				j.sessions = append(j.sessions, res.Sessions...)
				j.mu.Unlock()
			}
			j.add(r)
		}
		if denied := roleDenied(results); denied != nil {
			why := describe(denied).Message
			notTried(start+len(slice), why)
			j.finish(jobStopped, why)
			return
		}
		if err != nil {
			why := "Stopped after an error: " + describe(err).Message
			notTried(start+len(slice), "Not tried: the Bulk Edit stopped.")
			j.finish(jobStopped, why)
			return
		}
	}
	j.finish(jobDone, "")
}

// matching lists the GUIDs and names of every mailbox the list state
// selects, page by page with the service's continuation token (a change
// made meanwhile neither skips nor repeats a mailbox).
func (c *Center) matching(ctx context.Context, token, address string, l listState) (ids, names []string, err error) {
	caller, err := c.svc.Authenticate(ctx, token, service.SurfaceAdminCenter, address)
	if err != nil {
		return nil, nil, err
	}
	o := l.options()
	o.ResultSize = 1000
	for {
		p, err := c.svc.GetCASMailboxes(ctx, caller, o)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range p.Items {
			ids, names = append(ids, m.Guid), append(names, m.Name)
		}
		if p.Next == "" {
			return ids, names, nil
		}
		o.Cursor = p.Next
	}
}

// summaryNames is how many names a job's summary lists per outcome; the
// table below it and the CSV have every one.
const summaryNames = 20

// summary is the finished job's message, as the list's messages say it:
// what changed, what was already so, the sessions closed, and each failure
// with its reason.
func (j *bulkJob) summary() *flash {
	st := j.status()
	j.mu.Lock()
	results := append([]jobResult(nil), j.results...)
	sessions := append([]service.OpenSession(nil), j.sessions...)
	j.mu.Unlock()
	past := strings.ToLower(j.Action.Verb()) + "d"
	f := &flash{Kind: "success", Text: fmt.Sprintf("Bulk Edit: %s %s for %s.", j.Action.Label(), past, plural(st.Changed, "mailbox", "mailboxes"))}
	if st.State == jobStopped {
		f.Text = "Bulk Edit stopped. " + f.Text
	}
	names := func(outcome string, n int, head string) {
		if n == 0 {
			return
		}
		if n > summaryNames {
			f.Lines = append(f.Lines, fmt.Sprintf("%s %s (listed below and in the CSV).", head, plural(n, "mailbox", "mailboxes")))
			return
		}
		var list []string
		for _, r := range results {
			if r.Outcome == outcome {
				list = append(list, r.Identity)
			}
		}
		f.Lines = append(f.Lines, head+" "+strings.Join(list, ", ")+".")
	}
	names(outcomeChanged, st.Changed, "Changed:")
	names(outcomeNoChange, st.NoChange, "Already "+past+", not changed:")
	if line := sessionsLine(sessions); line != "" {
		f.Lines = append(f.Lines, line)
	}
	if st.Failed > 0 {
		f.Kind = "error"
		f.Text += fmt.Sprintf(" %s failed.", plural(st.Failed, "mailbox", "mailboxes"))
		shown := 0
		for _, r := range results {
			if r.Outcome == outcomeFailed && shown < summaryNames {
				f.Lines = append(f.Lines, "Failed: "+r.Identity+": "+r.Reason)
				shown++
			}
		}
		if st.Failed > shown {
			f.Lines = append(f.Lines, fmt.Sprintf("%s more failed (listed below and in the CSV).", thousands(st.Failed-shown)))
		}
	}
	if st.NotTried > 0 {
		f.Kind = "error"
		f.Text += fmt.Sprintf(" %s not tried.", plural(st.NotTried, "mailbox was", "mailboxes were"))
	}
	if st.Problem != "" {
		f.Lines = append(f.Lines, st.Problem)
	}
	return f
}

type jobData struct {
	Summary   *flash
	Job       *bulkJob
	Status    jobStatus
	Running   bool
	Results   []jobResult
	More      int // results not listed on the page
	StatusURL string
	CSVURL    string
	StopURL   string
	Percent   int
}

func jobPath(id string) string { return bulkPath + "/jobs/" + id }

// jobPage is a job's page: progress while it runs, the result list after.
func (c *Center) jobPage(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobs.get(r.PathValue("job"), s.caller.MailboxID)
	if err != nil {
		return err
	}
	st := j.status()
	d := jobData{Job: j, Status: st, Running: st.State == jobRunning, StatusURL: jobPath(j.ID) + "/status",
		CSVURL: jobPath(j.ID) + "/results.csv", StopURL: jobPath(j.ID) + "/stop"}
	if st.Total > 0 {
		d.Percent = st.Done * 100 / st.Total
	}
	if !d.Running {
		d.Summary = j.summary()
		d.Results = j.resultsCopy()
		if len(d.Results) > jobShown {
			d.More = len(d.Results) - jobShown
			d.Results = d.Results[:jobShown]
		}
	}
	title := "Bulk Edit - " + j.Action.Verb() + " " + j.Action.Label()
	page := c.newPage(w, r, s, title, "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "bulkjob", page)
	return nil
}

// jobStatusJSON is what the job's page polls.
func (c *Center) jobStatusJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobs.get(r.PathValue("job"), s.caller.MailboxID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(j.status())
}

// jobStop stops a running job after the slice under way.
func (c *Center) jobStop(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobs.get(r.PathValue("job"), s.caller.MailboxID)
	if err != nil {
		return err
	}
	j.stop()
	return c.redirect(w, r, jobPath(j.ID), nil)
}

// jobCSV downloads every mailbox's result.
func (c *Center) jobCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobs.get(r.PathValue("job"), s.caller.MailboxID)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	cw.Write([]string{"Identity", "Action", "Result", "Reason"})
	action := j.Action.Verb() + " " + j.Action.Label()
	for _, res := range j.resultsCopy() {
		cw.Write([]string{csvCell(res.Identity), action, res.Outcome, csvCell(res.Reason)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	name := fmt.Sprintf("bulk-edit-%s-%s-%s.csv", strings.ToLower(j.Action.Verb()), strings.ToLower(j.Action.Label()),
		j.Started.UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b.Bytes())
	return nil
}
