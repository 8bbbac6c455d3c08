package pop3

import "bytes"

// maxLine is the longest command line accepted, CRLF included. RFC 2449 §4
// raises RFC 1939's limit to 255 octets; we allow twice that so that AUTH
// PLAIN with a long initial response fits.
const maxLine = 512

// maxSASLLine is the longest AUTH command line and SASL response line
// accepted, CRLF included: RFC 4954 §4's 12288 octets, which holds an OAuth
// bearer token (a JWT) in base64.
const maxSASLLine = 12288

// command is one parsed command line.
type command struct {
	name string // upper case; "" for an empty line
	// args are the space-separated arguments. For USER and PASS the whole
	// rest of the line is one argument (RFC 1939 §7 allows a password with
	// spaces), as given.
	args []string
}

// parseCommand splits one command line (without its line end) into the
// keyword and its arguments. Keywords are case-insensitive (RFC 1939 §3).
// Arguments are separated by single spaces; runs of spaces and tabs, and
// trailing ones, are tolerated, since some clients send them.
func parseCommand(line []byte) command {
	i := bytes.IndexAny(line, " \t")
	if i < 0 {
		return command{name: asciiUpper(line)}
	}
	cmd := command{name: asciiUpper(line[:i])}
	rest := line[i+1:]
	switch cmd.name {
	case "USER", "PASS":
		// One argument: everything after the separating space, as sent
		// (RFC 1939 §7 lets a password contain spaces).
		cmd.args = []string{string(rest)}
		return cmd
	}
	for _, f := range bytes.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' }) {
		cmd.args = append(cmd.args, string(f))
	}
	return cmd
}

// asciiUpper upper-cases ASCII letters only; keywords are ASCII (RFC 1939
// §3), and other octets are kept as they are.
func asciiUpper(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'a' <= c && c <= 'z' {
			out[i] = c - ('a' - 'A')
		}
	}
	return string(out)
}

// printableName returns the command name for an error text when it is short
// printable ASCII, and "" otherwise, so that what the client sent is echoed
// only when it cannot garble the response line.
func printableName(name string) string {
	if len(name) == 0 || len(name) > 16 {
		return ""
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			return ""
		}
	}
	return name
}

// parseNumber parses a message number or line count: ASCII digits only (no
// sign), at most 9 of them so that the value fits everywhere.
func parseNumber(s string) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > 99999999 {
			// Too large to be any message number or a sensible line
			// count; report it as too large rather than malformed.
			return 1 << 30, true
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// args0 returns the first argument, or "".
func (c command) args0() string {
	if len(c.args) == 0 {
		return ""
	}
	return c.args[0]
}
