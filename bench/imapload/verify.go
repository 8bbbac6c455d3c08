package main

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
)

// The loads check what they read, as imaptest does: a load generator that
// only counts answers would report a server that sends the wrong message,
// a truncated body or a response for a message the client cannot see as a
// fast one. Every message a load can meet is known (the seeded corpus and
// the corpus the mixed loads APPEND), so each FETCH response is checked:
//
//   - a whole body (BODY[]) must be one of the known messages, byte for
//     byte, and the header fields (BODY[HEADER.FIELDS (FROM TO SUBJECT
//     DATE)]) those of one;
//   - an ENVELOPE's subject and the RFC822.SIZE beside it must be those of
//     one stored message, and the subject that of the header fields
//     fetched with it;
//   - a UID must always show the same message, to every session of its
//     user (UIDs are never reused, messages never change);
//   - the responses of a FETCH must be for the messages asked, each with
//     its UID, in ascending UID order with ascending sequence numbers, and
//     none beyond the EXISTS the client was told (responses without the
//     items asked are another session's flag changes, which a server may
//     send at any time: only their sequence number is checked);
//   - a FETCH that leaves out a message another session expunged must say
//     so (EXPUNGEISSUED, RFC 5530), and no EXPUNGE may come during a FETCH
//     or STORE (RFC 3501 section 7.4.1).
//
// A wrong answer counts in the run's "wrong" figure with the first one
// described; it is never a silent pass.

// knownSet is every message a load can read, found by a hash and then
// compared byte for byte, and each one's header fields as the header
// FETCH asks them.
type knownSet struct {
	// byHash holds the indexes of the messages of each hash (hashSeed);
	// a body is one of them when it equals one byte for byte.
	byHash map[uint64][]int
	// headerOf is each message's header fields as the header FETCH asks
	// them, by index; headers the set of them.
	headerOf []string
	headers  map[string]bool
	// sized holds each message's Subject and size, as ENVELOPE and
	// RFC822.SIZE give them.
	sized map[subjectSize]bool
	msgs  [][]byte
}

type subjectSize struct {
	subject string
	size    int
}

var (
	knownMu   sync.Mutex
	knownSets = map[int]*knownSet{}
)

// known returns the messages of a server seeded with messages each
// (corpus(messages, 1)) plus those the mixed loads APPEND.
func known(messages int) *knownSet {
	knownMu.Lock()
	defer knownMu.Unlock()
	if k := knownSets[messages]; k != nil {
		return k
	}
	k := &knownSet{byHash: map[uint64][]int{}, headers: map[string]bool{}, sized: map[subjectSize]bool{}}
	for _, m := range append(corpus(messages, 1), mixedCorpus()...) {
		h := maphash.Bytes(hashSeed, m)
		k.byHash[h] = append(k.byHash[h], len(k.msgs))
		hf := string(headerFields(m))
		k.headerOf = append(k.headerOf, hf)
		k.headers[hf] = true
		k.sized[subjectSize{subjectOf(m), len(m)}] = true
		k.msgs = append(k.msgs, m)
	}
	knownSets[messages] = k
	return k
}

// hashSeed is the seed of knownSet's hashes (the process's own: the set
// is made and read in one process).
var hashSeed = maphash.MakeSeed()

// index returns the index of the known message that body is, byte for
// byte.
func (k *knownSet) index(body []byte) (int, bool) {
	for _, i := range k.byHash[maphash.Bytes(hashSeed, body)] {
		if bytes.Equal(k.msgs[i], body) {
			return i, true
		}
	}
	return 0, false
}

// headerFields returns what BODY[HEADER.FIELDS (FROM TO SUBJECT DATE)]
// returns of msg: those header lines, in the message's order, and the
// empty line.
func headerFields(msg []byte) []byte {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var out []byte
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(name)) {
		case "from", "to", "subject", "date":
			out = append(append(out, line...), "\r\n"...)
		}
	}
	return append(out, "\r\n"...)
}

// subjectOf returns the Subject of a corpus message (one line, no
// encoded words).
func subjectOf(msg []byte) string {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Subject: ")); ok {
			return string(v)
		}
	}
	return ""
}

// verifier checks one run's responses (one server): knownSet plus what
// each user's UIDs were seen to hold.
type verifier struct {
	k *knownSet

	mu      sync.Mutex
	seen    map[string]map[uint32]int // user → UID → index in k.msgs
	checked int
	wrong   int
	first   error
}

func newVerifier(messages int) *verifier {
	return &verifier{k: known(messages), seen: map[string]map[uint32]int{}}
}

// fail records a wrong answer.
func (v *verifier) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.wrong++
	if v.first == nil {
		v.first = err
	}
}

// uidHolds records that user's uid shows message i, and reports a UID that
// showed another message before.
func (v *verifier) uidHolds(user string, uid uint32, i int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	m := v.seen[user]
	if m == nil {
		m = map[uint32]int{}
		v.seen[user] = m
	}
	if was, ok := m[uid]; ok && was != i {
		return fmt.Errorf("%s UID %d showed message %d, now message %d", user, uid, was, i)
	}
	m[uid] = i
	return nil
}

// uidHeader checks a header FETCH of user's uid against the message the
// UID was seen to hold, when it was.
func (v *verifier) uidHeader(user string, uid uint32, header []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	if i, ok := v.seen[user][uid]; ok && v.k.headerOf[i] != string(header) {
		return fmt.Errorf("%s UID %d: header fields %q are not those of its message %d", user, uid, header, i)
	}
	return nil
}

// fetchResp is one untagged FETCH response as the client read it: the
// line (literal data left out, its {n} markers kept) and its literals.
type fetchResp struct {
	seq  int
	uid  uint32 // 0 when the response has none
	line []byte
	lits [][]byte
}

// itemNumber returns the number after item (" UID", " RFC822.SIZE") in a
// FETCH response line: the item must start after "(" or a space.
func itemNumber(line []byte, item string) (uint64, bool) {
	for off := 0; ; {
		i := bytes.Index(line[off:], []byte(item+" "))
		if i < 0 {
			return 0, false
		}
		i += off
		off = i + len(item) + 1
		if i == 0 || (line[i-1] != '(' && line[i-1] != ' ') {
			continue
		}
		j := off
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j == off {
			continue
		}
		n, err := strconv.ParseUint(string(line[off:j]), 10, 64)
		return n, err == nil
	}
}

func hasItem(line []byte, item string) bool {
	_, ok := itemNumber(line, item)
	return ok
}

// literals counts the literal markers ("{n}" then CRLF, where readLine
// left out a literal's data) in a response line: the index, in the line's
// literals, of the next one.
func literals(line []byte) int {
	n := 0
	for {
		i := bytes.Index(line, []byte("}\r\n"))
		if i < 0 {
			return n
		}
		if open := bytes.LastIndexByte(line[:i], '{'); open >= 0 && digits(line[open+1:i]) {
			n++
		}
		line = line[i+3:]
	}
}

// digits reports whether b is one or more decimal digits.
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// literalAfter returns the literal that follows item in the response, nil
// when there is none.
func (r *fetchResp) literalAfter(item string) []byte {
	i := bytes.Index(r.line, []byte(item))
	if i < 0 {
		return nil
	}
	n := literals(r.line[:i])
	rest := r.line[i+len(item):]
	if !bytes.HasPrefix(rest, []byte(" {")) || n >= len(r.lits) {
		return nil
	}
	return r.lits[n]
}

// envelopeSubject returns the subject of the response's ENVELOPE (a
// quoted string or a literal; RFC 3501 section 7.4.2: date first, then
// subject), and false when it has no ENVELOPE or its subject is NIL.
func (r *fetchResp) envelopeSubject() (string, bool) {
	i := bytes.Index(r.line, []byte("ENVELOPE ("))
	if i < 0 {
		return "", false
	}
	rest := r.line[i+len("ENVELOPE ("):]
	// Skip the date: NIL or a quoted string (the corpus's dates hold no
	// quote or backslash).
	switch {
	case bytes.HasPrefix(rest, []byte("NIL ")):
		rest = rest[4:]
	case len(rest) > 0 && rest[0] == '"':
		j := bytes.IndexByte(rest[1:], '"')
		if j < 0 {
			return "", false
		}
		rest = bytes.TrimPrefix(rest[j+2:], []byte(" "))
	default:
		return "", false
	}
	switch {
	case len(rest) > 0 && rest[0] == '"':
		var b []byte
		for j := 1; j < len(rest); j++ {
			switch rest[j] {
			case '\\':
				if j+1 < len(rest) {
					j++
					b = append(b, rest[j])
				}
			case '"':
				return string(b), true
			default:
				b = append(b, rest[j])
			}
		}
		return "", false
	case len(rest) > 0 && rest[0] == '{':
		n := literals(r.line[:len(r.line)-len(rest)])
		if n < len(r.lits) {
			return string(r.lits[n]), true
		}
	}
	return "", false
}

// checkEnvelope checks, when the response has them, that its ENVELOPE's
// subject and RFC822.SIZE are those of one stored message, and that the
// subject is the one of the header fields it carries (header, nil when
// none).
func (v *verifier) checkEnvelope(user string, r *fetchResp, header []byte) {
	subject, ok := r.envelopeSubject()
	if !ok {
		return
	}
	v.mu.Lock()
	v.checked++
	v.mu.Unlock()
	if n, ok := itemNumber(r.line, "RFC822.SIZE"); ok {
		if !v.k.sized[subjectSize{subject, int(n)}] {
			v.fail(fmt.Errorf("%s: message %d (UID %d): no stored message has subject %q and size %d", user, r.seq, r.uid, subject, n))
		}
	}
	if header != nil && !bytes.Contains(header, []byte("Subject: "+subject+"\r\n")) {
		v.fail(fmt.Errorf("%s: message %d (UID %d): ENVELOPE subject %q is not the Subject of its header fields %q", user, r.seq, r.uid, subject, header))
	}
}

// checkSummaries checks the responses of FETCH lo:hi (UID FLAGS
// RFC822.SIZE ENVELOPE), as the cycle load asks it: each for a message
// asked, with its UID, UIDs ascending, subject and size those of one
// stored message.
func (v *verifier) checkSummaries(user string, f *fetchCollector, lo, hi int) {
	if err := v.common(f, 0); err != nil {
		v.fail(err)
		return
	}
	got := map[int]bool{}
	var lastSeq int
	var lastUID uint32
	for i := range f.resps {
		r := &f.resps[i]
		if !bytes.Contains(r.line, []byte("ENVELOPE (")) {
			continue // a flag update of another session's (unsolicited)
		}
		if r.seq < lo || r.seq > hi || r.uid == 0 || !hasItem(r.line, "RFC822.SIZE") {
			v.fail(fmt.Errorf("%s: FETCH %d:%d answered for message %d with %.200q", user, lo, hi, r.seq, r.line))
			continue
		}
		got[r.seq] = true
		if lastSeq != 0 && (r.seq > lastSeq) != (r.uid > lastUID) {
			v.fail(fmt.Errorf("%s: message %d has UID %d but message %d UID %d", user, lastSeq, lastUID, r.seq, r.uid))
		}
		lastSeq, lastUID = r.seq, r.uid
		v.checkEnvelope(user, r, nil)
	}
	v.missing(user, f, seqRange(lo, hi), got)
}

// fetchCollector gathers the untagged FETCH responses of one command and
// notes what else must not come (EXPUNGE) and whether the completion
// said EXPUNGEISSUED. Its line method is the command's onLine.
type fetchCollector struct {
	c         *client
	resps     []fetchResp
	expunges  int
	issued    bool
	badSyntax error
}

func (f *fetchCollector) line(l []byte) {
	rest, untagged := bytes.CutPrefix(l, []byte("* "))
	if !untagged {
		// The completion (or a continuation).
		if bytes.Contains(l, []byte("[EXPUNGEISSUED]")) {
			f.issued = true
		}
		return
	}
	num, rest, _ := bytes.Cut(rest, []byte(" "))
	switch {
	case bytes.Equal(rest, []byte("EXPUNGE")):
		f.expunges++
		return
	case !bytes.HasPrefix(rest, []byte("FETCH ")):
		return
	}
	seq, err := strconv.Atoi(string(num))
	if err != nil && f.badSyntax == nil {
		f.badSyntax = fmt.Errorf("FETCH response with a bad sequence number: %.100q", l)
	}
	r := fetchResp{seq: seq, line: append([]byte(nil), l...), lits: f.c.lits}
	f.c.lits = nil
	if u, ok := itemNumber(l, "UID"); ok && u <= math.MaxUint32 {
		r.uid = uint32(u)
	}
	f.resps = append(f.resps, r)
}

// start makes the client keep literals for the next command.
func (f *fetchCollector) start() {
	f.c.keep = true
	f.c.lits = nil
	f.c.arena = f.c.arena[:0]
}

func (f *fetchCollector) stop() {
	f.c.keep = false
	f.c.lits = nil
}

// checkBodies checks the responses of a FETCH of whole bodies: want are
// the sequence numbers asked (or, with byUID, the UIDs), exists what the
// client was told.
func (v *verifier) checkBodies(user string, f *fetchCollector, want []int, byUID bool, exists int) {
	if err := v.common(f, exists); err != nil {
		v.fail(err)
		return
	}
	got := map[int]bool{}
	for _, r := range f.resps {
		key := r.seq
		if byUID {
			key = int(r.uid)
		}
		body := r.literalAfter("BODY[]")
		if body == nil {
			continue // a flag update of another session's (unsolicited)
		}
		got[key] = true
		i, ok := v.k.index(body)
		if !ok {
			v.fail(fmt.Errorf("%s: message %d (UID %d): BODY[] of %d octets is none of the messages stored (starts %.80q)",
				user, r.seq, r.uid, len(body), body))
			continue
		}
		if r.uid == 0 {
			v.fail(fmt.Errorf("%s: FETCH response without the UID asked: %.200q", user, r.line))
			continue
		}
		if err := v.uidHolds(user, r.uid, i); err != nil {
			v.fail(err)
		}
	}
	v.missing(user, f, want, got)
}

// checkHeaders checks the responses of FETCH lo:hi (UID ... BODY.PEEK[HEADER.FIELDS (...)]).
func (v *verifier) checkHeaders(user string, f *fetchCollector, lo, hi, exists int) {
	if err := v.common(f, exists); err != nil {
		v.fail(err)
		return
	}
	got := map[int]bool{}
	var lastSeq int
	var lastUID uint32
	for i, r := range f.resps {
		h := r.literalAfter("BODY[HEADER.FIELDS (FROM TO SUBJECT DATE)]")
		if h == nil {
			continue // a flag update of another session's (unsolicited)
		}
		if r.seq < lo || r.seq > hi {
			v.fail(fmt.Errorf("%s: FETCH %d:%d answered for message %d", user, lo, hi, r.seq))
			continue
		}
		got[r.seq] = true
		if r.uid == 0 {
			v.fail(fmt.Errorf("%s: FETCH response without the UID asked: %.200q", user, r.line))
			continue
		}
		if lastSeq != 0 && (r.seq > lastSeq) != (r.uid > lastUID) {
			v.fail(fmt.Errorf("%s: message %d has UID %d but message %d UID %d", user, lastSeq, lastUID, r.seq, r.uid))
		}
		lastSeq, lastUID = r.seq, r.uid
		switch {
		case !v.k.headers[string(h)]:
			v.fail(fmt.Errorf("%s: message %d (UID %d): header fields %q are none of a stored message's", user, r.seq, r.uid, h))
		default:
			if err := v.uidHeader(user, r.uid, h); err != nil {
				v.fail(err)
			}
		}
		v.checkEnvelope(user, &f.resps[i], h)
	}
	v.missing(user, f, seqRange(lo, hi), got)
}

// common checks what every FETCH must keep to.
func (v *verifier) common(f *fetchCollector, exists int) error {
	if f.badSyntax != nil {
		return f.badSyntax
	}
	if f.expunges > 0 {
		return fmt.Errorf("%d EXPUNGE responses during a FETCH (RFC 3501 section 7.4.1)", f.expunges)
	}
	for _, r := range f.resps {
		if exists > 0 && r.seq > exists {
			return fmt.Errorf("FETCH response for message %d; the client was told of %d", r.seq, exists)
		}
	}
	return nil
}

// seqRange returns lo, lo+1, ..., hi.
func seqRange(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		out = append(out, n)
	}
	return out
}

// missing reports messages asked for that got no response without the
// completion saying EXPUNGEISSUED.
func (v *verifier) missing(user string, f *fetchCollector, want []int, got map[int]bool) {
	if f.issued {
		return
	}
	for _, n := range want {
		if !got[n] {
			v.fail(fmt.Errorf("%s: no FETCH response for %d and no EXPUNGEISSUED", user, n))
			return
		}
	}
}

// checkStore checks what a STORE answered: no EXPUNGE.
func (v *verifier) checkStore(user string, f *fetchCollector) {
	if f.expunges > 0 {
		v.fail(fmt.Errorf("%s: %d EXPUNGE responses during a STORE (RFC 3501 section 7.4.1)", user, f.expunges))
	}
}

// checkCopy checks a COPY's COPYUID response code (RFC 4315), line being
// the tagged OK that holds it (nil when there was none: nothing is
// checked): both sets must name as many UIDs, and each copy must show the
// message its source UID showed, when the load has seen it (a FETCH of
// the copy later is checked against that).
func (v *verifier) checkCopy(user string, line []byte) {
	i := bytes.Index(line, []byte("[COPYUID "))
	if i < 0 {
		return
	}
	f := bytes.Fields(bytes.SplitN(line[i+1:], []byte("]"), 2)[0])
	if len(f) != 4 {
		v.fail(fmt.Errorf("%s: malformed COPYUID in %q", user, line))
		return
	}
	src, err1 := expandUIDs(string(f[2]))
	dst, err2 := expandUIDs(string(f[3]))
	if err := errors.Join(err1, err2); err != nil || len(src) != len(dst) {
		v.fail(fmt.Errorf("%s: COPYUID %s %s names %d source and %d destination UIDs (%v)", user, f[2], f[3], len(src), len(dst), err))
		return
	}
	for j, s := range src {
		v.mu.Lock()
		msg, known := v.seen[user][s]
		v.mu.Unlock()
		if !known {
			continue
		}
		if err := v.uidHolds(user, dst[j], msg); err != nil {
			v.fail(fmt.Errorf("copy of UID %d: %w", s, err))
		}
	}
}

// expandUIDs expands a uid-set of a response code ("4", "4:6", "9,4:6").
func expandUIDs(set string) ([]uint32, error) {
	var out []uint32
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("uid-set %q: %w", set, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil {
				return nil, fmt.Errorf("uid-set %q: %w", set, err)
			}
		}
		if a > b {
			a, b = b, a
		}
		if b-a > 1<<16 {
			return nil, fmt.Errorf("uid-set %q: range too long", set)
		}
		for u := a; u <= b; u++ {
			out = append(out, uint32(u))
		}
	}
	return out, nil
}
