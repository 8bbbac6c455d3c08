package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// LatestMigration is the highest schema migration this build knows.
func LatestMigration() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	latest := 0
	for _, n := range names {
		num, _, _ := strings.Cut(filepath.Base(n), "_")
		if v, err := strconv.Atoi(num); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// Progress receives how many bytes of a copy are done out of about how
// many (total is an estimate: the source's size).
type Progress func(done, total int64)

// Backup writes a consistent copy of the database at src to dst while
// other processes (a running server) keep writing to src.
//
// The copy is made with VACUUM INTO, which reads the whole database in one
// read transaction: WAL lets writers go on meanwhile and the copy holds
// exactly what was committed when it started. (The online backup API,
// stepped a few pages at a time for progress, starts over whenever another
// process writes between steps, so under steady deliveries it might never
// end.) Progress is the size of the file being written.
//
// The copy is written to a temporary name beside dst (mode 0600), checked
// with PRAGMA integrity_check, fsynced, and only then renamed to dst, whose
// directory is fsynced: on any failure (a full disk, an unwritable
// directory, a cancel) nothing is left under dst and the temporary file is
// removed.
func Backup(ctx context.Context, src, dst string, progress Progress) (err error) {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database at %s: %w", src, err)
	}
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return fmt.Errorf("cannot write the backup into %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()

	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var pages, pageSize int64
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	total := pages * pageSize

	done := make(chan struct{})
	var polling sync.WaitGroup
	if progress != nil {
		polling.Add(1)
		go func() {
			defer polling.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if fi, err := os.Stat(tmpName); err == nil {
						progress(fi.Size(), total)
					}
				}
			}
		}()
	}
	// VACUUM INTO only reads the source (but query_only would refuse it).
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmpName)
	close(done)
	polling.Wait() // no progress line after the last one below
	if err != nil {
		return fmt.Errorf("write the backup to %s: %w", dir, explainWrite(err, dir))
	}
	if err := checkIntegrity(ctx, tmpName); err != nil {
		return fmt.Errorf("the copy does not pass its integrity check: %w", err)
	}
	f, err := os.OpenFile(tmpName, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	fi, _ := f.Stat()
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write the backup to %s: %w", dir, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return fmt.Errorf("move the backup to %s: %w", dst, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	if progress != nil && fi != nil {
		progress(fi.Size(), fi.Size())
	}
	return nil
}

// explainWrite names a full disk plainly: SQLite reports ENOSPC as
// SQLITE_FULL, or as a bare I/O error on some paths.
func explainWrite(err error, dir string) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("no space left on the device: %w", err)
		case sqlite3.SQLITE_IOERR:
			if lowOnSpace(dir) {
				return fmt.Errorf("no space left on the device: %w", err)
			}
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("cannot write there: %w", err)
		}
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// checkIntegrity runs PRAGMA integrity_check on the database file at path,
// opened read-only as immutable (no -wal or -shm is created beside it).
func checkIntegrity(ctx context.Context, path string) error {
	db, err := openImmutable(path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func openImmutable(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// FileInfo describes a database file that CheckFile accepted.
type FileInfo struct {
	// Migration is the highest schema migration applied to it.
	Migration int
	// Tables maps each table to its row count.
	Tables map[string]int64
	Size   int64
}

// sqliteMagic opens every SQLite 3 database file (the file format's header,
// https://www.sqlite.org/fileformat2.html#the_database_header).
const sqliteMagic = "SQLite format 3\x00"

// requiredTables are tables every Gatehouse database has had since its
// first migration; a SQLite file without them is not ours.
var requiredTables = []string{"schema_migrations", "mailboxes", "folders", "messages", "bodies", "audit_records"}

// CheckFile tells whether the file at path is a whole Gatehouse database
// that this build can serve, reading it only: the SQLite header, a size
// that holds every page the header announces (a truncated copy is
// refused), PRAGMA integrity_check, Gatehouse's tables and a schema
// migration no newer than this build's.
func CheckFile(ctx context.Context, path string) (FileInfo, error) {
	var info FileInfo
	f, err := os.Open(path)
	if err != nil {
		return info, err
	}
	hdr := make([]byte, 100)
	_, err = io.ReadFull(f, hdr)
	fi, serr := f.Stat()
	f.Close()
	if serr != nil {
		return info, serr
	}
	if fi.IsDir() {
		return info, fmt.Errorf("%s is a directory", path)
	}
	info.Size = fi.Size()
	if err != nil || string(hdr[:16]) != sqliteMagic {
		return info, fmt.Errorf("%s is not a SQLite database (no SQLite header): not a Gatehouse backup", path)
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return info, fmt.Errorf("%s: bad page size %d in the SQLite header", path, pageSize)
	}
	// The page count at offset 28 is valid when the "version-valid-for"
	// number at 92 equals the change counter at 24 (every SQLite since
	// 3.7.0 writes both).
	if binary.BigEndian.Uint32(hdr[92:96]) == binary.BigEndian.Uint32(hdr[24:28]) {
		pages := int64(binary.BigEndian.Uint32(hdr[28:32]))
		if want := pages * pageSize; info.Size < want {
			return info, fmt.Errorf("%s is truncated: %d bytes, but its header announces %d pages of %d bytes (%d bytes)",
				path, info.Size, pages, pageSize, want)
		}
	}
	if info.Size%pageSize != 0 {
		return info, fmt.Errorf("%s is truncated or damaged: %d bytes is not a whole number of %d-byte pages", path, info.Size, pageSize)
	}
	if err := checkIntegrity(ctx, path); err != nil {
		return info, fmt.Errorf("%s fails SQLite's integrity check: %w", path, err)
	}
	db, err := openImmutable(path)
	if err != nil {
		return info, err
	}
	defer db.Close()
	tables, err := Tables(ctx, db)
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	have := map[string]bool{}
	for _, t := range tables {
		have[t] = true
	}
	var missing []string
	for _, t := range requiredTables {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return info, fmt.Errorf("%s is a SQLite database but not a Gatehouse one (no table %s)", path, strings.Join(missing, ", "))
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&info.Migration); err != nil {
		return info, fmt.Errorf("%s: schema version: %w", path, err)
	}
	if latest := LatestMigration(); info.Migration > latest {
		return info, fmt.Errorf("%s has schema migration %d, newer than this gatehouse knows (%d): restore it with the gatehouse version that made it", path, info.Migration, latest)
	}
	info.Tables = map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&n); err != nil {
			return info, fmt.Errorf("%s: count %s: %w", path, t, err)
		}
		info.Tables[t] = n
	}
	return info, nil
}

// Tables lists the tables of a SQLite database, without SQLite's own.
func Tables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// SyncDir fsyncs a directory, so that a rename in it is durable.
func SyncDir(dir string) error { return syncDir(dir) }
