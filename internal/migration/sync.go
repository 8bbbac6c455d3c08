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
	Folders  int
	Copied   int
	Deduped  int
	Skipped  int
	Bytes    int64
	Flagged  int // messages whose flags were brought up to date
	Duration time.Duration
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
	// and changes nothing at the source).
	total := int64(0)
	for _, sf := range folders {
		if sd, err := c.Status(sf.Name, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil && sd.NumMessages != nil {
			total += int64(*sd.NumMessages)
		}
	}
	if err := e.o.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMigrationUserTotal(ctx, u.ID, total) }); err != nil {
		return st, err
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
	for _, sf := range folders {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		fid, err := e.ensureFolder(ctx, u.MailboxID, sf, byName, defaults)
		if err != nil {
			return st, err
		}
		p, had := prog[sf.Name]
		if err := e.syncFolder(ctx, c, u, sf, fid, p, had, condstore, &st); err != nil {
			return st, fmt.Errorf("folder %q: %w", sf.Name, err)
		}
		st.Folders++
	}
	c.Logout().Wait()
	st.Duration = time.Since(start)
	return st, nil
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

func (e *Engine) syncFolder(ctx context.Context, c *imapclient.Client, u store.MigrationUser, sf sourceFolder, fid int64, p store.MigrationFolder, had, condstore bool, stats *SyncStats) error {
	sel, err := c.Select(sf.Name, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
	if err != nil {
		return fmt.Errorf("EXAMINE: %w", err)
	}
	if had && p.UIDValidity != sel.UIDValidity {
		// RFC 9051 §2.3.1.1: the old UIDs mean nothing now. The folder is
		// copied again; CopyMigrated maps content already copied (same
		// SHA-256, each copy once) to its copy instead of adding it twice.
		e.o.Logger.Info("source UIDVALIDITY changed; copying the folder again with dedupe", "user", u.EmailAddress,
			"folder", sf.Name, "old", p.UIDValidity, "new", sel.UIDValidity)
		had = false
	}
	if !had || p.FolderID != fid {
		if !had {
			p = store.MigrationFolder{SourceName: sf.Name, UIDValidity: sel.UIDValidity}
		}
		p.FolderID = fid
	}
	if !condstore {
		sel.HighestModSeq = 0
	}
	// Flag changes of what was copied before.
	if p.LastUID > 0 && sel.NumMessages > 0 && (!condstore || p.HighestModSeq == 0 || sel.HighestModSeq > p.HighestModSeq) {
		n, err := e.syncFlags(ctx, c, u, sf, p, condstore)
		if err != nil {
			return err
		}
		stats.Flagged += n
	}
	p.HighestModSeq = sel.HighestModSeq
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= p.LastUID+1) {
		return e.o.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMigrationFolder(ctx, u.ID, p) })
	}
	// New messages: sizes first, so an oversize message is skipped without
	// being downloaded.
	var set imap.UIDSet
	set.AddRange(imap.UID(p.LastUID+1), 0)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return fmt.Errorf("UID FETCH sizes: %w", err)
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
	// Steps of up to StepMessages messages and StepBytes octets (at least
	// one message), each committed with its progress. The next step is
	// fetched and parsed while the one before is committed.
	type step struct {
		fetch   imap.UIDSet
		skipped []store.MigrationSkippedItem
		last    uint32
		msgs    []store.MigratedMessage
	}
	var plan []*step
	for len(items) > 0 {
		n, bytes := 0, int64(0)
		st := &step{}
		for n < len(items) && n < e.o.StepMessages && (n == 0 || bytes+items[n].size <= e.o.StepBytes) {
			it := items[n]
			if it.size > e.o.MaxMessageSize {
				st.skipped = append(st.skipped, store.MigrationSkippedItem{SourceName: sf.Name, UIDValidity: p.UIDValidity, SourceUID: it.uid,
					Size: it.size, Reason: fmt.Sprintf("%s (%d > %d octets)", ReasonTooLarge, it.size, e.o.MaxMessageSize)})
			} else {
				st.fetch.AddNum(imap.UID(it.uid))
				bytes += it.size
			}
			n++
		}
		st.last = items[n-1].uid
		items = items[n:]
		plan = append(plan, st)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan *step, 1)
	var fetchErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ready)
		for _, st := range plan {
			if len(st.fetch) > 0 {
				bufs, err := c.Fetch(st.fetch, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
					BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
				if err != nil {
					fetchErr = fmt.Errorf("UID FETCH bodies: %w", err)
					return
				}
				for _, b := range bufs {
					if len(b.BodySection) == 0 {
						continue
					}
					raw := message.Normalize(b.BodySection[0].Bytes)
					if len(raw) == 0 {
						continue
					}
					st.msgs = append(st.msgs, newMigrated(uint32(b.UID), raw, b.Flags, b.InternalDate))
				}
				slices.SortFunc(st.msgs, func(a, b store.MigratedMessage) int { return int(a.SourceUID) - int(b.SourceUID) })
			}
			if len(st.skipped) > 0 {
				subjects(c, st.skipped)
			}
			select {
			case ready <- st:
			case <-pctx.Done():
				return
			}
		}
	}()
	// The client is the producer's until it is done: wait for it before
	// the caller sends its next command.
	defer func() { cancel(); <-done }()
	for st := range ready {
		p.LastUID = st.last
		if err := e.copyStep(ctx, c, u, p, st.msgs, st.skipped, stats); err != nil {
			return err
		}
		e.publish(ctx, u.MailboxID, fid)
	}
	<-done
	if fetchErr != nil {
		return fetchErr
	}
	return ctx.Err()
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
// listed.
func (e *Engine) copyStep(ctx context.Context, c *imapclient.Client, u store.MigrationUser, p store.MigrationFolder, msgs []store.MigratedMessage, skipped []store.MigrationSkippedItem, st *SyncStats) error {
	res, err := e.o.Store.CopyMigrated(ctx, store.MigrationCopy{UserID: u.ID, Folder: p, Messages: msgs, Skipped: skipped})
	if err == nil {
		st.Copied += res.Appended
		st.Deduped += res.Deduped
		st.Bytes += res.Bytes
		st.Skipped += len(skipped)
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
		q.LastUID = m.SourceUID
		res, err := e.o.Store.CopyMigrated(ctx, store.MigrationCopy{UserID: u.ID, Folder: q, Messages: []store.MigratedMessage{m}})
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
