package migration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Import from disk: Maildir (Maildir++ folders, as Dovecot and Courier
// keep them) and mbox files, for admins with file access to the old
// server. Every message is recorded with a key (the Maildir file's unique
// name; for mbox the SHA-256 of the message and its ordinal among equal
// ones) in the same transaction as the message, so a second run, or a run
// after an interruption, adds only what is missing.

// ImportStats is what an import did.
type ImportStats struct {
	Folders  int
	Seen     int // messages found
	Imported int // added now
	Already  int // imported by an earlier run
	Skipped  int // too large or over quota (listed in Problems)
	Problems []string
}

// ImportOptions configure an import.
type ImportOptions struct {
	Store     store.Store
	MailboxID int64
	// MaxMessageSize: larger messages are skipped (0: no limit).
	MaxMessageSize int64
	// Progress is called after every message.
	Progress func(folder string, st ImportStats)
	// Hub, when set, hears of every imported message as of a delivery
	// (IDLE sessions of the mailbox look at once).
	Hub notify.Hub
}

// decodeMUTF7 decodes a modified UTF-7 mailbox name (RFC 3501 §5.1.3), as
// Maildir++ folder directories are named.
func decodeMUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b.WriteByte(s[i])
			continue
		}
		j := strings.IndexByte(s[i:], '-')
		if j < 0 {
			return "", fmt.Errorf("unterminated shift in %q", s)
		}
		enc := s[i+1 : i+j]
		i += j
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := decodeB64Mod(enc)
		if err != nil || len(raw)%2 != 0 {
			return "", fmt.Errorf("bad modified UTF-7 in %q", s)
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		b.WriteString(string(utf16.Decode(u)))
	}
	return b.String(), nil
}

func decodeB64Mod(s string) ([]byte, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"
	var out []byte
	var acc, bits uint
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(alphabet, s[i])
		if v < 0 {
			return nil, errors.New("bad base64")
		}
		acc = acc<<6 | uint(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, nil
}

// maildirFlags maps the info part of a Maildir file name (":2,FRS") and
// Dovecot's keyword letters (a-z, listed in dovecot-keywords) to flags.
func maildirFlags(info string, keywords map[byte]string) (store.Flags, []string) {
	var f store.Flags
	var kw []string
	for i := 0; i < len(info); i++ {
		switch c := info[i]; {
		case c == 'S':
			f |= store.FlagSeen
		case c == 'R':
			f |= store.FlagAnswered
		case c == 'F':
			f |= store.FlagFlagged
		case c == 'T':
			f |= store.FlagDeleted
		case c == 'D':
			f |= store.FlagDraft
		case c >= 'a' && c <= 'z':
			if k, ok := keywords[c]; ok {
				kw = append(kw, k)
			}
		}
	}
	return f, kw
}

func readKeywords(dir string) map[byte]string {
	out := map[byte]string{}
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		n, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if i, err := strconv.Atoi(n); ok && err == nil && i >= 0 && i < 26 {
			out[byte('a'+i)] = name
		}
	}
	return out
}

// folderFor returns the folder a source folder goes into, creating it (and
// its parents) when missing, with the mapping of the IMAP migration.
func (o ImportOptions) folderFor(ctx context.Context, name string, delim rune) (int64, string, error) {
	existing, err := o.Store.Folders(ctx, o.MailboxID)
	if err != nil {
		return 0, "", err
	}
	byName := map[string]store.Folder{}
	defaults := map[string]string{}
	for _, f := range existing {
		byName[f.Name] = f
		if f.SpecialUse != "" {
			defaults[f.SpecialUse] = f.Name
		}
	}
	fs := mapFolders([]*imap.ListData{{Mailbox: name, Delim: delim}}, nil, defaults)
	if len(fs) == 0 {
		return 0, "", fmt.Errorf("folder %q cannot be mapped", name)
	}
	e := &Engine{o: Options{Store: o.Store, Hub: o.Hub}}
	id, err := e.ensureFolder(ctx, o.MailboxID, fs[0], byName, defaults)
	return id, fs[0].Target, err
}

// importOne stores one message unless its key was imported before.
func (o ImportOptions) importOne(ctx context.Context, folderID int64, folder, key string, raw []byte, f store.Flags, kw []string, date time.Time, st *ImportStats) error {
	st.Seen++
	raw = message.Normalize(raw) // Maildir and mbox keep LF line ends
	if o.MaxMessageSize > 0 && int64(len(raw)) > o.MaxMessageSize {
		st.Skipped++
		st.Problems = append(st.Problems, fmt.Sprintf("%s: %s: %s (%d > %d octets)", folder, key, ReasonTooLarge, len(raw), o.MaxMessageSize))
		return nil
	}
	m := newMigrated(0, raw, nil, date)
	m.Msg.Flags, m.Msg.Keywords = f, kw
	added, err := o.Store.ImportMessage(ctx, o.MailboxID, folderID, key, m.Msg)
	switch {
	case errors.Is(err, store.ErrOverQuota):
		st.Skipped++
		st.Problems = append(st.Problems, fmt.Sprintf("%s: %s: %s", folder, key, ReasonOverQuota))
	case err != nil:
		return fmt.Errorf("%s: %s: %w", folder, key, err)
	case added:
		st.Imported++
		if o.Hub != nil {
			// As a delivery does: IDLE sessions of the mailbox look now.
			o.Hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: o.MailboxID, FolderID: folderID})
		}
	default:
		st.Already++
	}
	if o.Progress != nil {
		o.Progress(folder, *st)
	}
	return nil
}

// ImportMaildir imports a Maildir: dir/cur and dir/new are INBOX, each
// dir/.Name (Maildir++, "." as delimiter, modified UTF-7) a folder.
func ImportMaildir(ctx context.Context, o ImportOptions, dir string) (ImportStats, error) {
	var st ImportStats
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return st, fmt.Errorf("%s is not a Maildir (no cur/): %w", dir, err)
	}
	type src struct{ path, name string }
	folders := []src{{dir, "INBOX"}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return st, err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".") || e.Name() == "." || e.Name() == ".." {
			continue
		}
		name, err := decodeMUTF7(e.Name()[1:])
		if err != nil {
			st.Problems = append(st.Problems, fmt.Sprintf("folder %s skipped: %v", e.Name(), err))
			continue
		}
		folders = append(folders, src{filepath.Join(dir, e.Name()), name})
	}
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		fid, target, err := o.folderFor(ctx, f.name, '.')
		if err != nil {
			return st, err
		}
		st.Folders++
		keywords := readKeywords(f.path)
		var files []string
		for _, sub := range []string{"cur", "new"} {
			es, err := os.ReadDir(filepath.Join(f.path, sub))
			if err != nil {
				continue
			}
			for _, e := range es {
				if e.Type().IsRegular() {
					files = append(files, filepath.Join(sub, e.Name()))
				}
			}
		}
		sort.Strings(files)
		for _, rel := range files {
			base := filepath.Base(rel)
			unique, info, _ := strings.Cut(base, ":2,")
			p := filepath.Join(f.path, rel)
			raw, err := os.ReadFile(p)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue // moved between new/ and cur/ meanwhile
				}
				return st, err
			}
			fi, err := os.Stat(p)
			date := time.Now()
			if err == nil {
				date = fi.ModTime()
			}
			fl, kw := maildirFlags(info, keywords)
			if err := o.importOne(ctx, fid, target, "maildir:"+f.name+":"+unique, raw, fl, kw, date, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// ImportMbox imports an mbox file into a folder. Messages start at lines
// "From " (RFC 4155); ">From " lines are unquoted one level (mboxrd);
// Status and X-Status headers give the flags (R seen; A answered, F
// flagged, T draft, D deleted), the From_ line the internal date.
func ImportMbox(ctx context.Context, o ImportOptions, path, folder string) (ImportStats, error) {
	var st ImportStats
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	if folder == "" {
		folder = "INBOX"
	}
	fid, target, err := o.folderFor(ctx, folder, '/')
	if err != nil {
		return st, err
	}
	st.Folders = 1
	r := bufio.NewReaderSize(f, 1<<20)
	seen := map[string]int{}
	var cur bytes.Buffer
	var date time.Time
	started := false
	flush := func() error {
		if !started {
			return nil
		}
		raw := bytes.Clone(cur.Bytes())
		cur.Reset()
		// The empty line before the next From_ line belongs to the mbox.
		raw = bytes.TrimSuffix(raw, []byte("\n"))
		sum := sha256.Sum256(raw)
		h := hex.EncodeToString(sum[:])
		seen[h]++
		fl, kw := mboxFlags(raw)
		d := date
		if d.IsZero() {
			d = time.Now()
		}
		return o.importOne(ctx, fid, target, fmt.Sprintf("mbox:%s:%s:%d", folder, h, seen[h]), raw, fl, kw, d, &st)
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if bytes.HasPrefix(line, []byte("From ")) {
				if err := flush(); err != nil {
					return st, err
				}
				started = true
				date = fromLineDate(string(bytes.TrimSpace(line)))
			} else if started {
				if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
					line = line[1:]
				}
				cur.Write(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
	}
	if !started {
		return st, fmt.Errorf("%s is not an mbox file (no \"From \" line)", path)
	}
	return st, flush()
}

func fromLineDate(line string) time.Time {
	// "From sender Thu Jan  4 10:00:00 2024": the date is the last 5 fields.
	fs := strings.Fields(line)
	if len(fs) < 7 {
		return time.Time{}
	}
	t, err := time.Parse(time.ANSIC, strings.Join(fs[len(fs)-5:], " "))
	if err != nil {
		return time.Time{}
	}
	return t
}

func mboxFlags(raw []byte) (store.Flags, []string) {
	var f store.Flags
	hdr, _, _ := bytes.Cut(raw, []byte("\n\n"))
	for _, line := range strings.Split(string(hdr), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(name) {
		case "status":
			if strings.Contains(v, "R") {
				f |= store.FlagSeen
			}
		case "x-status":
			for _, c := range strings.TrimSpace(v) {
				switch c {
				case 'A':
					f |= store.FlagAnswered
				case 'F':
					f |= store.FlagFlagged
				case 'T':
					f |= store.FlagDraft
				case 'D':
					f |= store.FlagDeleted
				}
			}
		}
	}
	return f, nil
}
