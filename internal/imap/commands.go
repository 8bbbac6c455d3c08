package imap

import (
	"context"
	"strconv"
	"strings"
)

// command is one entry of the command table.
type command struct {
	handler func(ctx context.Context, c *conn, r *request) error
	states  state
	// noExpunge: EXPUNGE responses must wait (commands by sequence number,
	// RFC 9051 §7.5.1).
	noExpunge bool
	// forceUpdate: always ask the backend for changes before completing
	// (NOOP, CHECK: RFC 9051 §6.1.2, §6.4.1).
	forceUpdate bool
	// maxSize overrides the command size limit (APPEND).
	maxSize func(s *Server) int64
	// enabled, when set, hides the command when it returns false.
	enabled func(c *conn) bool
}

const (
	anyState      = stateNotAuth | stateAuth | stateSelected
	authenticated = stateAuth | stateSelected
)

// commandTable returns every command the engine implements, by name (and
// "UID NAME" for UID variants).
func commandTable() map[string]*command {
	t := map[string]*command{
		// Any state (RFC 9051 §6.1).
		"CAPABILITY": {handler: cmdCapability, states: anyState},
		"NOOP":       {handler: cmdNoop, states: anyState, forceUpdate: true},
		"LOGOUT":     {handler: cmdLogout, states: anyState},
		"ID":         {handler: cmdID, states: anyState},
		// Not authenticated (§6.2).
		"STARTTLS":     {handler: cmdStartTLS, states: stateNotAuth, enabled: func(c *conn) bool { return c.srv.opts.TLSConfig != nil && !c.tls }},
		"LOGIN":        {handler: cmdLogin, states: stateNotAuth},
		"AUTHENTICATE": {handler: cmdAuthenticate, states: stateNotAuth},
		// Authenticated (§6.3).
		"ENABLE":      {handler: cmdEnable, states: stateAuth},
		"SELECT":      {handler: cmdSelect, states: authenticated},
		"EXAMINE":     {handler: cmdSelect, states: authenticated},
		"CREATE":      {handler: cmdCreate, states: authenticated},
		"DELETE":      {handler: cmdDelete, states: authenticated},
		"RENAME":      {handler: cmdRename, states: authenticated},
		"SUBSCRIBE":   {handler: cmdSubscribe, states: authenticated},
		"UNSUBSCRIBE": {handler: cmdSubscribe, states: authenticated},
		"LIST":        {handler: cmdList, states: authenticated},
		"LSUB":        {handler: cmdLsub, states: authenticated},
		"NAMESPACE":   {handler: cmdNamespace, states: authenticated},
		"STATUS":      {handler: cmdStatus, states: authenticated},
		"APPEND":      {handler: cmdAppend, states: authenticated, maxSize: func(s *Server) int64 { return s.opts.AppendBatchLimit + s.opts.MaxCommandSize }},
		"IDLE":        {handler: cmdIdle, states: authenticated, forceUpdate: true},
		"COMPRESS":    {handler: cmdCompress, states: authenticated},
		"NOTIFY":      {handler: cmdNotify, states: authenticated, forceUpdate: true},
		// RFC 9208 QUOTA.
		"GETQUOTA":     {handler: cmdGetQuota, states: authenticated},
		"GETQUOTAROOT": {handler: cmdGetQuotaRoot, states: authenticated},
		"SETQUOTA":     {handler: cmdSetQuota, states: authenticated},
		// Selected (§6.4).
		"CHECK":       {handler: cmdNoop, states: stateSelected, forceUpdate: true},
		"CLOSE":       {handler: cmdClose, states: stateSelected},
		"UNSELECT":    {handler: cmdClose, states: stateSelected},
		"EXPUNGE":     {handler: cmdExpunge, states: stateSelected},
		"UID EXPUNGE": {handler: cmdExpunge, states: stateSelected},
		"SEARCH":      {handler: cmdSearch, states: stateSelected, noExpunge: true},
		"SORT":        {handler: cmdSort, states: stateSelected, noExpunge: true},
		"UID SORT":    {handler: cmdSort, states: stateSelected},
		"THREAD":      {handler: cmdThread, states: stateSelected, noExpunge: true},
		"UID THREAD":  {handler: cmdThread, states: stateSelected},
		"UID SEARCH":  {handler: cmdSearch, states: stateSelected},
		"FETCH":       {handler: cmdFetch, states: stateSelected, noExpunge: true},
		"UID FETCH":   {handler: cmdFetch, states: stateSelected},
		"STORE":       {handler: cmdStore, states: stateSelected, noExpunge: true},
		"UID STORE":   {handler: cmdStore, states: stateSelected},
		"COPY":        {handler: cmdCopy, states: stateSelected, noExpunge: true},
		"UID COPY":    {handler: cmdCopy, states: stateSelected},
		"MOVE":        {handler: cmdCopy, states: stateSelected, noExpunge: true},
		"UID MOVE":    {handler: cmdCopy, states: stateSelected},
		// RFC 5267 §4.3.5.
		"CANCELUPDATE": {handler: cmdCancelUpdate, states: stateSelected},
	}
	return t
}

// extensions are the capabilities the engine implements beyond the base
// protocol, advertised after IMAP4rev1 and IMAP4rev2.
var extensions = []string{
	"LITERAL+",           // RFC 7888
	"SASL-IR",            // RFC 4959
	"ID",                 // RFC 2971
	"ENABLE",             // RFC 5161
	"IDLE",               // RFC 2177
	"NAMESPACE",          // RFC 2342
	"UIDPLUS",            // RFC 4315
	"MOVE",               // RFC 6851
	"UNSELECT",           // RFC 3691
	"CHILDREN",           // RFC 3348
	"SPECIAL-USE",        // RFC 6154
	"CREATE-SPECIAL-USE", // RFC 6154
	"LIST-EXTENDED",      // RFC 5258
	"LIST-STATUS",        // RFC 5819
	"ESEARCH",            // RFC 4731
	"SEARCHRES",          // RFC 5182
	"STATUS=SIZE",        // RFC 8438
	"BINARY",             // RFC 3516
	"CONDSTORE",          // RFC 7162 §3.1
	"QRESYNC",            // RFC 7162 §3.2
	"SORT",               // RFC 5256
	"UTF8=ACCEPT",        // RFC 6855
	"WITHIN",             // RFC 5032
	"MULTIAPPEND",        // RFC 3502
	"CATENATE",           // RFC 4469
	"URL-PARTIAL",        // RFC 5550 §5: ;PARTIAL= in CATENATE URLs (append.go)
	"ESORT",              // RFC 5267 §3
	"PARTIAL",            // RFC 9394
	"SORT=DISPLAY",       // RFC 5957
	"CONTEXT=SEARCH",     // RFC 5267 §4
	"CONTEXT=SORT",       // RFC 5267 §4
	"NOTIFY",             // RFC 5465
	"SAVEDATE",           // RFC 8514
	"OBJECTID",           // RFC 8474
	"PREVIEW",            // RFC 8970
	// THREAD (RFC 5256 §3; REFS: draft-ietf-morg-inthread, as Dovecot)
	"THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "THREAD=REFS",
	"QUOTA",             // RFC 9208 (GETQUOTA, GETQUOTAROOT; no QUOTASET)
	"QUOTA=RES-STORAGE", // RFC 9208 §5.1
}

// capabilities lists what the connection may use now (RFC 9051 §7.2.2):
// STARTTLS and LOGINDISABLED before TLS, AUTH= mechanisms before login.
func (c *conn) capabilities() string {
	var b strings.Builder
	b.WriteString("IMAP4rev1 IMAP4rev2")
	for _, e := range extensions {
		b.WriteByte(' ')
		b.WriteString(e)
	}
	if c.state != stateNotAuth {
		// RFC 4978: COMPRESS is a command-auth; offered once it may be used.
		b.WriteString(" COMPRESS=DEFLATE")
	}
	b.WriteString(" APPENDLIMIT=")
	b.WriteString(strconv.FormatInt(c.srv.opts.AppendLimit, 10))
	if c.state == stateNotAuth {
		if c.srv.opts.TLSConfig != nil && !c.tls {
			b.WriteString(" STARTTLS")
		}
		if c.plaintextRefused() {
			b.WriteString(" LOGINDISABLED")
		} else {
			for _, m := range c.mechanisms() {
				b.WriteString(" AUTH=")
				b.WriteString(m)
			}
		}
	}
	return b.String()
}

// plaintextRefused reports whether LOGIN/AUTHENTICATE must be refused: no
// TLS, not from loopback, and not allowed by configuration.
func (c *conn) plaintextRefused() bool {
	return !c.tls && !c.loopback && !c.srv.opts.AllowPlaintextAuth
}

// discardLimit is the largest refused non-synchronizing literal we read and
// throw away; larger ones close the connection.
func (s *Server) discardLimit() int64 {
	return s.opts.AppendLimit + s.opts.MaxCommandSize
}
