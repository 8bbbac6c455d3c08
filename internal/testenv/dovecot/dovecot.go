// Package dovecot runs Dovecot from Debian's packages beside Gatehouse for
// the load tools under bench/ and the migration tests: it writes a private configuration directory
// (passwd-file, Maildirs owned by "nobody", dovecot.conf from the tool's
// template) and starts Dovecot in the foreground on a loopback port, with
// its own base_dir so that the system's instance is left alone. Run as
// root, as Dovecot needs to switch users.
package dovecot

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"text/template"
	"time"
)

// Setup is one Dovecot configuration directory.
type Setup struct {
	Dir      string   // written here; created when missing
	Port     int      // the loopback port of the protocol measured
	Users    []string // passwd-file users, each with an empty Maildir
	Password string   // every user's password
	// Messages go into every user's Maildir cur/, named as Dovecot's own
	// deliveries name them (S= file size with LF, W= size with CRLF) with
	// the given Maildir flags (e.g. "S" for seen).
	Messages [][]byte
	Flags    string
	// Conf is executed with .Dir, .Port, .UID, .GID and the fields of
	// Extra (a map) to make dovecot.conf.
	Conf  *template.Template
	Extra map[string]any
}

// Write creates the directory, users, Maildirs and dovecot.conf.
func (s Setup) Write() error {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	var passwd bytes.Buffer
	for _, u := range s.Users {
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s::::::\n", u, s.Password)
		md := filepath.Join(s.Dir, "mail", u, "Maildir")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
				return err
			}
		}
		for j, raw := range s.Messages {
			// Maildir keeps LF line ends.
			lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
			name := fmt.Sprintf("%d.M%dP1.bench,S=%d,W=%d:2,%s", 1767258000+j, j, len(lf), len(raw), s.Flags)
			if err := os.WriteFile(filepath.Join(md, "cur", name), lf, 0o600); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Join(s.Dir, "index", u), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "passwd"), passwd.Bytes(), 0o644); err != nil {
		return err
	}
	for _, sub := range []string{"mail", "index"} {
		err := filepath.Walk(filepath.Join(s.Dir, sub), func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return err
		}
	}
	data := map[string]any{"Dir": s.Dir, "Port": s.Port, "UID": uid, "GID": gid}
	for k, v := range s.Extra {
		data[k] = v
	}
	var conf bytes.Buffer
	if err := s.Conf.Execute(&conf, data); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "dovecot.conf"), conf.Bytes(), 0o644)
}

// Start runs Dovecot on the configuration in dir until stop is called and
// returns once it accepts connections on port. pkg names the Debian
// package to suggest when Dovecot is missing (dovecot-imapd, ...).
func Start(dir string, port int, pkg string) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/dovecot"); e != nil {
			return "", nil, fmt.Errorf("dovecot not installed (apt-get install %s): %w", pkg, err)
		}
		bin = "/usr/sbin/dovecot"
	}
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("dovecot did not listen on %s (see %s): %w", addr, filepath.Join(dir, "dovecot.log"), err)
		}
	}
}
