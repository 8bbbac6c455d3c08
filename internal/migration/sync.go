package migration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Skip reasons, as Get-MigrationUserStatistics lists them.
const (
	ReasonTooLarge  = "The message is larger than the maximum message size"
	ReasonOverQuota = "The mailbox is over its quota (ProhibitSendReceiveQuota)"
)

// SyncStats is what one sync of one user did.
type SyncStats struct {
	Folders int
	Copied  int
	Deduped int
	Skipped int
	// Unskipped counts messages skipped over quota before and copied now.
	Unskipped int
	Bytes     int64
	Flagged   int // messages whose flags were brought up to date
	Duration  time.Duration
}

// SyncUser copies one user's mail from the source: every folder, new UIDs
// only, flag changes of what was copied before. It is safe to run again at
// any point: progress is committed with the messages it covers.
func (e *Engine) SyncUser(ctx context.Context, src Source, batch store.MigrationBatch, u store.MigrationUser, password string) (SyncStats, error) {
	start := time.Now()
	var st SyncStats
	c, err := src.Dial(ctx)
	if err != nil {
		return st, err
	}
	defer c.Close()
	if err := Login(c, u.UserName, password); err != nil {
		return st, err
	}
	caps := c.Caps()
	condstore := caps.Has(imap.CapCondStore)
	var opts *imap.ListOptions
	if caps.Has(imap.CapSpecialUse) && (caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return st, fmt.Errorf("LIST: %w", err)
	}
	existing, err := e.o.Store.Folders(ctx, u.MailboxID)
	if err != nil {
		return st, err
	}
	byName := map[string]store.Folder{}
	defaults := map[string]string{}
	for _, f := range existing {
		byName[f.Name] = f
		if f.SpecialUse != "" {
			defaults[f.SpecialUse] = f.Name
		}
	}
	folders := mapFolders(list, batch.ExcludeFolders, defaults)
	sort.Slice(folders, func(i, j int) bool { return folders[i].Target < folders[j].Target })
	// The source's message count, for the progress bars (STATUS is cheap
	// and changes nothing at the source). The STATUS commands are sent
	// together and their answers read afterwards.
	total := int64(0)
	statuses := make([]*imapclient.StatusCommand, len(folders))
	for i, sf := range folders {
		statuses[i] = c.Status(sf.Name, &imap.StatusOptions{NumMessages: true})
	}
	for _, cmd := range statuses {
		if sd, err := cmd.Wait(); err == nil && sd.NumMessages != nil {
			total += int64(*sd.NumMessages)
		}
	}
	// Written only when it changed: a sync with nothing new writes
	// nothing (every commit is an fsync with SQLite's synchronous=FULL).
	if total != u.ItemsTotal {
		if err := e.o.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMigrationUserTotal(ctx, u.ID, total) }); err != nil {
			return st, err
		}
	}
	var progress []store.MigrationFolder
	if err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		progress, err = tx.MigrationFolders(ctx, u.ID)
		return err
	}); err != nil {
		return st, err
	}
	prog := map[string]store.MigrationFolder{}
	for _, p := range progress {
		prog[p.SourceName] = p
	}
	// Messages skipped over quota before are tried again: there may be
	// room now.
	var skipped []store.MigrationSkippedItem
	if err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		skipped, err = tx.MigrationSkipped(ctx, u.ID)
		return err
	}); err != nil {
		return st, err
	}
	retry := map[string][]store.MigrationSkippedItem{}
	for _, s := range skipped {
		if strings.HasPrefix(s.Reason, ReasonOverQuota) {
			retry[s.SourceName] = append(retry[s.SourceName], s)
		}
	}
	fids := make([]int64, len(folders))
	for i, sf := range folders {
		if fids[i], err = e.ensureFolder(ctx, u.MailboxID, sf, byName, defaults); err != nil {
			return st, err
		}
	}
	// One reader goroutine walks every folder at the source (EXAMINE, the
	// sizes of new messages, their bodies in pipelined steps, each message
	// parsed as it arrives) while this one commits the steps it hands
	// over: the download of the next steps, also of the next folders,
	// goes on while a step is written to the store.
	pctx, cancel := context.WithCancel(ctx)
	ready := make(chan *step, 4)
	var readErr error
	var flagged int
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ready)
		for i, sf := range folders {
			if pctx.Err() != nil {
				return
			}
			p, had := prog[sf.Name]
			n, err := e.readFolder(pctx, c, u, sf, fids[i], p, had, condstore, retry[sf.Name], ready)
			flagged += n
			if err != nil {
				readErr = fmt.Errorf("folder %q: %w", sf.Name, err)
				return
			}
		}
	}()
	// The client is the reader's until it is done: wait for it before
	// the next command.
	defer func() { cancel(); <-done }()
	for s := range ready {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if s.progressOnly {
			if !s.unchanged {
				if err := e.o.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMigrationFolder(ctx, u.ID, s.p) }); err != nil {
					return st, err
				}
			}
		} else {
			if err := e.copyStep(ctx, u, s, &st); err != nil {
				return st, fmt.Errorf("folder %q: %w", s.p.SourceName, err)
			}
			e.publish(ctx, u.MailboxID, s.p.FolderID)
		}
		if s.folderDone {
			st.Folders++
		}
	}
	<-done
	st.Flagged = flagged
	if readErr != nil {
		return st, readErr
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	c.Logout().Wait()
	st.Duration = time.Since(start)
	return st, nil
}

// step is one commit of a folder's copy: the messages read, those skipped,
// and the folder's progress with LastUID up to where the step goes.
type step struct {
	p            store.MigrationFolder
	fetch        imap.UIDSet
	skipped      []store.MigrationSkippedItem
	msgs         []store.MigratedMessage
	progressOnly bool // nothing new: only the folder's progress is written
	unchanged    bool // with progressOnly: the progress is as stored, nothing to write
	retry        bool // msgs were skipped over quota before
	folderDone   bool // the folder's last step
}

// ensureFolder returns the Gatehouse folder for sf, creating it and any
// missing parent (Gatehouse creates no parents implicitly) and subscribing
// to what it creates.
func (e *Engine) ensureFolder(ctx context.Context, mailboxID int64, sf sourceFolder, byName map[string]store.Folder, defaults map[string]string) (int64, error) {
	if f, ok := byName[sf.Target]; ok {
		return f.ID, nil
	}
	parts := strings.Split(sf.Target, "/")
	var id int64
	for i := range parts {
		name := strings.Join(parts[:i+1], "/")
		if f, ok := byName[name]; ok {
			id = f.ID
			continue
		}
		use := ""
		if i == len(parts)-1 && sf.SpecialUse != "" && defaults[sf.SpecialUse] == "" {
			use = sf.SpecialUse
		}
		f, err := e.o.Store.CreateFolder(ctx, mailboxID, name, use)
		if errors.Is(err, store.ErrExists) {
			f, err = e.o.Store.FolderByName(ctx, mailboxID, name)
		}
		if err != nil {
			return 0, fmt.Errorf("create folder %q: %w", name, err)
		}
		if use != "" {
			defaults[use] = name
		}
		byName[name] = f
		if err := e.o.Store.SetSubscribed(ctx, mailboxID, name, true); err != nil {
			return 0, err
		}
		id = f.ID
	}
	e.publish(ctx, mailboxID, 0)
	return id, nil
}

func (e *Engine) publish(ctx context.Context, mailboxID, folderID int64) {
	if e.o.Hub != nil {
		e.o.Hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: mailboxID, FolderID: folderID})
	}
}

// readFolder reads what is new in one source folder and hands it to out in
// steps; it brings the flags of what was copied before up to date first
// and returns how many it changed.
func (e *Engine) readFolder(ctx context.Context, c *imapclient.Client, u store.MigrationUser, sf sourceFolder, fid int64, p store.MigrationFolder, had, condstore bool, retry []store.MigrationSkippedItem, out chan<- *step) (int, error) {
	send := func(s *step) bool {
		select {
		case out <- s:
			return true
		case <-ctx.Done():
			return false
		}
	}
	sel, err := c.Select(sf.Name, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
	if err != nil {
		return 0, fmt.Errorf("EXAMINE: %w", err)
	}
	stored := p // the progress as the store has it (when had)
	if had && p.UIDValidity != sel.UIDValidity {
		// RFC 9051 §2.3.1.1: the old UIDs mean nothing now. The folder is
		// copied again; CopyMigrated maps content already copied (same
		// SHA-256, each copy once) to its copy instead of adding it twice.
		e.o.Logger.Info("source UIDVALIDITY changed; copying the folder again with dedupe", "user", u.EmailAddress,
			"folder", sf.Name, "old", p.UIDValidity, "new", sel.UIDValidity)
		had = false
	}
	if !had {
		p = store.MigrationFolder{SourceName: sf.Name, UIDValidity: sel.UIDValidity}
	}
	p.FolderID = fid
	if !condstore {
		sel.HighestModSeq = 0
	}
	// Flag changes of what was copied before.
	flagged := 0
	if p.LastUID > 0 && sel.NumMessages > 0 && (!condstore || p.HighestModSeq == 0 || sel.HighestModSeq > p.HighestModSeq) {
		n, err := e.syncFlags(ctx, c, u, sf, p, condstore)
		if err != nil {
			return n, err
		}
		flagged = n
	}
	p.HighestModSeq = sel.HighestModSeq
	// What was skipped over quota, in this generation of the folder, in
	// one step.
	var again imap.UIDSet
	for _, s := range retry {
		if had && s.UIDValidity == p.UIDValidity && s.SourceUID <= p.LastUID {
			again.AddNum(imap.UID(s.SourceUID))
		}
	}
	if len(again) > 0 {
		msgs, err := readBodies(c.Fetch(again, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}))
		if err != nil {
			return flagged, fmt.Errorf("UID FETCH bodies of messages skipped over quota: %w", err)
		}
		if len(msgs) > 0 && !send(&step{p: p, msgs: msgs, retry: true}) {
			return flagged, ctx.Err()
		}
	}
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= p.LastUID+1) {
		send(&step{p: p, progressOnly: true, unchanged: had && p == stored, folderDone: true})
		return flagged, nil
	}
	// New messages: sizes first, so an oversize message is skipped without
	// being downloaded.
	var set imap.UIDSet
	set.AddRange(imap.UID(p.LastUID+1), 0)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return flagged, fmt.Errorf("UID FETCH sizes: %w", err)
	}
	type item struct {
		uid  uint32
		size int64
	}
	var items []item
	for _, m := range sizes {
		if uint32(m.UID) > p.LastUID {
			items = append(items, item{uint32(m.UID), m.RFC822Size})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].uid < items[j].uid })
	if len(items) == 0 {
		send(&step{p: p, progressOnly: true, unchanged: had && p == stored, folderDone: true})
		return flagged, nil
	}
	// Steps of up to StepMessages messages and StepBytes octets (at least
	// one message), each committed with its progress.
	var plan []*step
	for len(items) > 0 {
		n, bytes := 0, int64(0)
		s := &step{}
		for n < len(items) && n < e.o.StepMessages && (n == 0 || bytes+items[n].size <= e.o.StepBytes) {
			it := items[n]
			if it.size > e.o.MaxMessageSize {
				s.skipped = append(s.skipped, store.MigrationSkippedItem{SourceName: sf.Name, UIDValidity: p.UIDValidity, SourceUID: it.uid,
					Size: it.size, Reason: fmt.Sprintf("%s (%d > %d octets)", ReasonTooLarge, it.size, e.o.MaxMessageSize)})
			} else {
				s.fetch.AddNum(imap.UID(it.uid))
				bytes += it.size
			}
			n++
		}
		s.p = p
		s.p.LastUID = items[n-1].uid
		items = items[n:]
		plan = append(plan, s)
	}
	plan[len(plan)-1].folderDone = true
	// The subjects of skipped messages, before any body FETCH is in
	// flight (its answers would stand before theirs).
	var skipped []store.MigrationSkippedItem
	for _, s := range plan {
		skipped = append(skipped, s.skipped...)
	}
	if len(skipped) > 0 {
		subjects(c, skipped)
		for _, s := range plan {
			n := len(s.skipped)
			s.skipped, skipped = skipped[:n:n], skipped[n:]
		}
	}
	// One body FETCH at a time. Sending the next step's FETCH before the
	// current one was read (disjoint UID sets) hung for good now and then:
	// go-imap v2 beta.8 routes a FETCH answer to a pending command by the
	// UID it finds before the literal, and its reader then waits for the
	// literal to be consumed by a command nobody was reading yet
	// (TestKillRestartTakesOver, 2 of 5 runs). The download still overlaps
	// the commits: this goroutine reads while SyncUser writes.
	issue := func(s *step) *imapclient.FetchCommand {
		if len(s.fetch) == 0 {
			return nil
		}
		return c.Fetch(s.fetch, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	}
	for _, s := range plan {
		cmd := issue(s)
		if cmd != nil {
			msgs, err := readBodies(cmd)
			if err != nil {
				return flagged, fmt.Errorf("UID FETCH bodies: %w", err)
			}
			s.msgs = msgs
		}
		if !send(s) {
			return flagged, ctx.Err()
		}
	}
	return flagged, nil
}

// readBodies reads the answers of a body FETCH as they arrive, parsing
// each message while the next one is still on its way, and closes cmd.
func readBodies(cmd *imapclient.FetchCommand) ([]store.MigratedMessage, error) {
	var msgs []store.MigratedMessage
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		b, err := m.Collect()
		if err != nil {
			cmd.Close()
			return nil, err
		}
		if len(b.BodySection) == 0 {
			continue
		}
		raw := message.Normalize(b.BodySection[0].Bytes)
		if len(raw) == 0 {
			continue
		}
		msgs = append(msgs, newMigrated(uint32(b.UID), raw, b.Flags, b.InternalDate))
	}
	if err := cmd.Close(); err != nil {
		return nil, err
	}
	slices.SortFunc(msgs, func(a, b store.MigratedMessage) int { return int(a.SourceUID) - int(b.SourceUID) })
	return msgs, nil
}

// subjects fills in the subjects of skipped messages (best effort: the
// list is for people).
func subjects(c *imapclient.Client, skipped []store.MigrationSkippedItem) {
	var set imap.UIDSet
	for _, s := range skipped {
		set.AddNum(imap.UID(s.SourceUID))
	}
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		return
	}
	for _, b := range bufs {
		for i := range skipped {
			if skipped[i].SourceUID == uint32(b.UID) && b.Envelope != nil {
				skipped[i].Subject = b.Envelope.Subject
			}
		}
	}
}

func newMigrated(uid uint32, raw []byte, flags []imap.Flag, date time.Time) store.MigratedMessage {
	m := message.Parse(raw)
	f, kw := toStoreFlags(flags)
	sum := sha256.Sum256(raw)
	return store.MigratedMessage{SourceUID: uid, Hash: hex.EncodeToString(sum[:]), Msg: store.NewMessage{
		Flags: f, Keywords: kw, InternalDate: date, Raw: raw, Structure: m.Marshal(),
		Preview: m.PreviewOf(raw), HasPreview: true, HasBinary: m.HasBinary(),
		Summary: store.Summary{Subject: m.Subject(), From: m.From(), To: m.To(), Cc: m.Cc(), SentDate: m.Date()},
	}}
}

// copyStep commits one step. When the mailbox's quota refuses the step, it
// goes message by message, and those that do not fit are skipped and
// listed (a retry of messages skipped before leaves those that still do
// not fit on the list as they are).
func (e *Engine) copyStep(ctx context.Context, u store.MigrationUser, s *step, st *SyncStats) error {
	p, msgs, skipped := s.p, s.msgs, s.skipped
	res, err := e.o.Store.CopyMigrated(ctx, store.MigrationCopy{UserID: u.ID, Folder: p, Messages: msgs, Skipped: skipped, Retry: s.retry})
	if err == nil {
		st.Copied += res.Appended
		st.Deduped += res.Deduped
		st.Bytes += res.Bytes
		st.Skipped += len(skipped)
		if s.retry {
			st.Unskipped += res.Appended + res.Deduped
		}
		return nil
	}
	if !errors.Is(err, store.ErrOverQuota) || len(msgs) == 0 {
		return err
	}
	// One by one; progress moves to each message as it is settled (a
	// crash here loses at most the listing of oversize messages before
	// it, never a message), and a last commit carries the step's progress
	// and what was skipped.
	var over []store.MigrationSkippedItem
	for _, m := range msgs {
		q := p
		if !s.retry {
			q.LastUID = m.SourceUID
		}
		res, err := e.o.Store.CopyMigrated(ctx, store.MigrationCopy{UserID: u.ID, Folder: q, Messages: []store.MigratedMessage{m}, Retry: s.retry})
		if errors.Is(err, store.ErrOverQuota) {
			over = append(over, store.MigrationSkippedItem{SourceName: p.SourceName, UIDValidity: p.UIDValidity, SourceUID: m.SourceUID,
				Size: int64(len(m.Msg.Raw)), Subject: m.Msg.Subject, Reason: ReasonOverQuota})
			continue
		}
		if err != nil {
			return err
		}
		st.Copied += res.Appended
		st.Deduped += res.Deduped
		st.Bytes += res.Bytes
		if s.retry {
			st.Unskipped += res.Appended + res.Deduped
		}
	}
	if s.retry {
		return nil // those still over quota stay listed as they were
	}
	// The skipped ones and the step's progress in a last commit.
	all := append(skipped, over...)
	if _, err := e.o.Store.CopyMigrated(ctx, store.MigrationCopy{UserID: u.ID, Folder: p, Skipped: all}); err != nil {
		return err
	}
	st.Skipped += len(all)
	return nil
}

// syncFlags brings the flags of copied messages up to date: with CONDSTORE
// only those changed since the last sync (RFC 7162 §3.1.4 CHANGEDSINCE),
// without it all of them.
func (e *Engine) syncFlags(ctx context.Context, c *imapclient.Client, u store.MigrationUser, sf sourceFolder, p store.MigrationFolder, condstore bool) (int, error) {
	var set imap.UIDSet
	set.AddRange(1, imap.UID(p.LastUID))
	o := &imap.FetchOptions{UID: true, Flags: true}
	if condstore && p.HighestModSeq > 0 {
		o.ChangedSince = p.HighestModSeq
	}
	bufs, err := c.Fetch(set, o).Collect()
	if err != nil {
		return 0, fmt.Errorf("UID FETCH flags: %w", err)
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	uids := make([]uint32, 0, len(bufs))
	for _, b := range bufs {
		uids = append(uids, uint32(b.UID))
	}
	var dest map[uint32]uint32
	if err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		dest, err = tx.MigratedUIDs(ctx, u.ID, sf.Name, p.UIDValidity, uids)
		return err
	}); err != nil {
		return 0, err
	}
	// Current flags of the copies, so only real differences are written.
	var ranges []store.UIDRange
	for _, d := range dest {
		ranges = append(ranges, store.UIDRange{Start: d, Stop: d})
	}
	current := map[uint32]string{}
	if len(ranges) > 0 {
		sort.Slice(ranges, func(i, j int) bool { return ranges[i].Start < ranges[j].Start })
		if err := e.o.Store.Messages(ctx, p.FolderID, ranges, 0, func(m store.MessageMeta) error {
			current[m.UID] = flagKey(m.Flags, m.Keywords)
			return nil
		}); err != nil {
			return 0, err
		}
	}
	type group struct {
		f    store.Flags
		kw   []string
		uids []uint32
	}
	groups := map[string]*group{}
	for _, b := range bufs {
		d, ok := dest[uint32(b.UID)]
		if !ok {
			continue
		}
		f, kw := toStoreFlags(b.Flags)
		k := flagKey(f, kw)
		if cur, ok := current[d]; !ok || cur == k {
			continue
		}
		g := groups[k]
		if g == nil {
			g = &group{f: f, kw: kw}
			groups[k] = g
		}
		g.uids = append(g.uids, d)
	}
	n := 0
	for _, g := range groups {
		var rs []store.UIDRange
		for _, d := range g.uids {
			rs = append(rs, store.UIDRange{Start: d, Stop: d})
		}
		if _, _, err := e.o.Store.StoreFlags(ctx, p.FolderID, store.FlagUpdate{UIDs: rs, Op: store.FlagsReplace, Flags: g.f, Keywords: g.kw}); err != nil {
			return n, err
		}
		n += len(g.uids)
	}
	if n > 0 {
		e.publish(ctx, u.MailboxID, p.FolderID)
	}
	return n, nil
}

func flagKey(f store.Flags, kw []string) string {
	k := slices.Clone(kw)
	for i := range k {
		k[i] = strings.ToLower(k[i])
	}
	slices.Sort(k)
	return fmt.Sprint(uint8(f), k)
}
