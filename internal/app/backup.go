package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// BackupOptions configure Backup.
type BackupOptions struct {
	Config config.Config
	// Out is the backup file to write.
	Out string
	// Force replaces an existing file at Out.
	Force bool
	// Progress receives progress lines (stderr).
	Progress io.Writer
}

// ErrBackupPostgres says that a PostgreSQL store is backed up with
// PostgreSQL's own tools.
var ErrBackupPostgres = errors.New(`the store is on PostgreSQL: back it up with pg_dump, which exports one consistent snapshot ` +
	`(pg_dump --format=custom --file=gatehouse.dump 'postgres://...'; restore into an empty database with pg_restore --no-owner --dbname='postgres://...' gatehouse.dump); ` +
	`see docs/operations.md`)

// Backup writes a consistent copy of the SQLite store of cfg to o.Out; the
// server may be running.
func Backup(ctx context.Context, o BackupOptions) error {
	if o.Config.DB != "" {
		return ErrBackupPostgres
	}
	if o.Out == "" {
		return errors.New("--out FILE is required")
	}
	if fi, err := os.Stat(o.Out); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory; name the backup file", o.Out)
		}
		if !o.Force {
			return fmt.Errorf("%s exists; use --force to replace it", o.Out)
		}
	}
	src := filepath.Join(o.Config.Data, "gatehouse.db")
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	start := time.Now()
	fmt.Fprintf(w, "backing up %s to %s\n", src, o.Out)
	err := sqlite.Backup(ctx, src, o.Out, func(done, total int64) {
		if total > 0 && done <= total {
			fmt.Fprintf(w, "  %s of about %s (%d%%)\n", mib(done), mib(total), done*100/total)
		} else {
			fmt.Fprintf(w, "  %s\n", mib(done))
		}
	})
	if err != nil {
		return err
	}
	fi, err := os.Stat(o.Out)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "backup complete: %s, %s, integrity check ok, in %v\n", o.Out, mib(fi.Size()), time.Since(start).Round(time.Millisecond))
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// File is the backup to restore.
	File string
	// Data is the data directory to restore into.
	Data string
	// Force replaces a database already in Data.
	Force    bool
	Progress io.Writer
}

// Restore puts the backup o.File in place as the database of o.Data. The
// file is checked whole before anything is written (CheckFile); a server
// must not be running on o.Data (its lock is taken). The copy goes to a
// temporary name in o.Data, is fsynced and renamed over gatehouse.db after
// the old database's -wal and -shm files are removed (a stale WAL must
// never be applied to another database).
func Restore(ctx context.Context, o RestoreOptions) error {
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	if o.File == "" || o.Data == "" {
		return errors.New("the backup FILE and --data DIR are required")
	}
	fmt.Fprintf(w, "checking %s\n", o.File)
	info, err := sqlite.CheckFile(ctx, o.File)
	if err != nil {
		return fmt.Errorf("refused, nothing written: %w", err)
	}
	names := make([]string, 0, len(info.Tables))
	for t := range info.Tables {
		names = append(names, t)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "  SQLite integrity check ok; schema migration %d (this gatehouse: %d); %d mailboxes, %d messages\n",
		info.Migration, sqlite.LatestMigration(), info.Tables["mailboxes"], info.Tables["messages"])
	dst := filepath.Join(o.Data, "gatehouse.db")
	if _, err := os.Stat(dst); err == nil && !o.Force {
		return fmt.Errorf("refused, nothing written: %s already holds a database; use --force to replace it", o.Data)
	}
	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", o.Data, err)
	}
	unlock, err := lockData(o.Data)
	if err != nil {
		return fmt.Errorf("refused, nothing written: %w", err)
	}
	defer unlock()

	src, err := os.Open(o.File)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(o.Data, ".gatehouse.db.restore-*")
	if err != nil {
		return fmt.Errorf("cannot write into %s: %w", o.Data, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, &progressReader{r: src, w: w, total: info.Size})
	if err != nil {
		return fmt.Errorf("copy %s into %s: %w", o.File, o.Data, err)
	}
	if n != info.Size {
		return fmt.Errorf("copy %s: read %d bytes of %d (did it change while being read?)", o.File, n, info.Size)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write into %s: %w", o.Data, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the old database's %s: %w", dst+suffix, err)
		}
	}
	matchOwner(o.Data, tmp.Name())
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	ok = true
	if err := sqlite.SyncDir(o.Data); err != nil {
		return err
	}
	fmt.Fprintf(w, "restored %s into %s; 'gatehouse serve --data %s' brings its schema up to date at start\n", o.File, dst, o.Data)
	return nil
}

// progressReader reports a copy's progress every 64 MiB.
type progressReader struct {
	r           io.Reader
	w           io.Writer
	total, done int64
	next        int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done >= p.next || errors.Is(err, io.EOF) {
		if p.total > 0 {
			fmt.Fprintf(p.w, "  %s of %s (%d%%)\n", mib(p.done), mib(p.total), p.done*100/p.total)
		}
		p.next = p.done + 64<<20
	}
	return n, err
}
