package imap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var threadEpoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// tm is a message for the threading tests: sent minute minutes after
// threadEpoch.
func tm(id, refs, subject string, minute int) threadMsg {
	return threadMsg{messageID: id, references: refs, subject: subject,
		date: threadEpoch.Add(time.Duration(minute) * time.Minute)}
}

// formatThreads renders threads with message i as number i+1.
func formatThreads(threads []*threadNode) string {
	return string(appendThreads(nil, threads, func(i int) uint32 { return uint32(i + 1) }))
}

func TestThreadReferences(t *testing.T) {
	irt := func(m threadMsg, v string) threadMsg { m.inReplyTo = v; return m }
	for _, tc := range []struct {
		name string
		msgs []threadMsg
		want string
	}{
		{"empty mailbox", nil, ""},
		{"one message", []threadMsg{tm("<a@x>", "", "Hi", 0)}, "(1)"},
		{"no Message-ID", []threadMsg{tm("", "", "Hi", 0), tm("", "", "Ho", 1)}, "(1)(2)"},
		{"chain", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<b@x>", "<a@x>", "Re: A", 1),
			tm("<c@x>", "<a@x> <b@x>", "Re: A", 2),
		}, "(1 2 3)"},
		{"siblings", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<b@x>", "<a@x>", "Re: A", 1),
			tm("<c@x>", "<a@x>", "Re: A", 2),
		}, "(1 (2)(3))"},
		{"children sorted by sent date, not sequence", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<b@x>", "<a@x>", "one", 5),
			tm("<c@x>", "<a@x>", "two", 3),
			tm("<d@x>", "<a@x>", "three", 3), // same date as 3: sequence decides
		}, "(1 (3)(4)(2))"},
		{"threads sorted by the date of their first message", []threadMsg{
			tm("<a@x>", "", "late", 10),
			tm("<b@x>", "", "early", 5),
			tm("<c@x>", "<a@x>", "Re: late", 1),
		}, "(2)(1 3)"},
		{"missing parent of two: a dummy root", []threadMsg{
			tm("<b@x>", "<gone@x>", "one", 0),
			tm("<c@x>", "<gone@x>", "two", 1),
		}, "((1)(2))"},
		{"missing parent of one: promoted", []threadMsg{
			tm("<b@x>", "<gone@x>", "one", 0),
		}, "(1)"},
		{"missing message inside a thread: its children promoted", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<c@x>", "<a@x> <gone@x>", "one", 1),
			tm("<d@x>", "<a@x> <gone@x>", "two", 2),
		}, "(1 (2)(3))"},
		{"missing grandparent", []threadMsg{
			tm("<a@x>", "<gone@x>", "one", 0),
			tm("<b@x>", "<gone@x> <a@x>", "two", 1),
		}, "(1 2)"},
		{"reply before its parent in the mailbox", []threadMsg{
			tm("<b@x>", "<a@x>", "Re: A", 1),
			tm("<a@x>", "", "A", 0),
		}, "(2 1)"},
		{"loop between two messages", []threadMsg{
			tm("<a@x>", "<b@x>", "one", 0),
			tm("<b@x>", "<a@x>", "two", 1),
		}, "(2 1)"},
		{"loop inside References", []threadMsg{
			tm("<a@x>", "<b@x> <c@x> <b@x>", "one", 0),
		}, "(1)"},
		{"a message referring to itself", []threadMsg{
			tm("<a@x>", "<a@x>", "one", 0),
			tm("<b@x>", "<b@x> <a@x> <b@x>", "two", 1),
		}, "(1 2)"},
		{"existing links kept (truncated References)", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<b@x>", "<a@x>", "B", 1),
			tm("<c@x>", "<b@x>", "C", 2),
			// claims b's parent is z: step 1.A keeps a as b's parent
			tm("<d@x>", "<z@x> <b@x> <c@x>", "D", 3),
		}, "(1 2 3 4)"},
		{"last reference replaces a parent from elsewhere", []threadMsg{
			tm("<c@x>", "<a@x> <b@x>", "C", 0),
			tm("<b@x>", "<x@x>", "B", 1),
		}, "(2 1)"},
		{"a dummy becomes the message", []threadMsg{
			tm("<a@x>", "", "A", 0),
			tm("<c@x>", "<b@x>", "C", 2),
			tm("<b@x>", "<a@x>", "B", 1),
		}, "(1 3 2)"},
		{"duplicate Message-ID: the later one has none", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<a@x>", "", "two", 1),
			tm("<c@x>", "<a@x>", "three", 2),
		}, "(1 3)(2)"},
		{"duplicate Message-ID referring to the first", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<a@x>", "<a@x>", "two", 1),
		}, "(1 2)"},
		{"quoting and comments normalized", []threadMsg{
			tm(`<"a.b"@x>`, "", "one", 0),
			tm("<c@x>", "(see) <a.b@x> (comment)", "two", 1),
			tm("<d@x>", "< c @ x >", "three", 2),
		}, "(1 2 3)"},
		{"Message IDs compare case-sensitively", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<b@x>", "<A@x>", "two", 1),
		}, "(1)(2)"},
		{"In-Reply-To when References has no valid ID", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<b@x>", "", "two", 1),
			irt(tm("<c@x>", "<bad> <also bad", "three", 2), `"b's message" <b@x> <a@x>`),
		}, "(1)(2 3)"},
		{"In-Reply-To ignored when References has one", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<b@x>", "", "two", 1),
			irt(tm("<c@x>", "<a@x>", "three", 2), "<b@x>"),
		}, "(1 3)(2)"},
		{"subject: reply joins its original", []threadMsg{
			tm("<a@x>", "", "Hello", 0),
			tm("<b@x>", "", "Re: hello", 1),
		}, "(1 2)"},
		{"subject: original found after the reply", []threadMsg{
			tm("<a@x>", "", "Re: Hello", 0),
			tm("<b@x>", "", "Hello", 1),
		}, "(2 1)"},
		{"subject: two originals under a dummy", []threadMsg{
			tm("<a@x>", "", "Hello", 0),
			tm("<b@x>", "", "[list] HELLO", 1),
			tm("<c@x>", "", "Re: Hello", 2),
		}, "((1)(2)(3))"},
		{"subject: two replies under a dummy", []threadMsg{
			tm("<a@x>", "", "Re: Hi", 0),
			tm("<b@x>", "", "Fwd: Hi", 1),
		}, "((1)(2))"},
		{"subject: forwarded with (fwd)", []threadMsg{
			tm("<a@x>", "", "Hi", 0),
			tm("<b@x>", "", "Hi (fwd)", 1),
		}, "(1 2)"},
		{"subject: empty subjects stay apart", []threadMsg{
			tm("<a@x>", "", "", 0),
			tm("<b@x>", "", "Re:", 1),
		}, "(1)(2)"},
		{"subject: a message joins a dummy thread", []threadMsg{
			tm("<b@x>", "<gone@x>", "Topic", 0),
			tm("<c@x>", "<gone@x>", "Re: Topic", 1),
			tm("<d@x>", "", "Topic", 2),
		}, "((1)(2)(3))"},
		{"subject: two dummy threads merge", []threadMsg{
			tm("<b@x>", "<gone@x>", "Topic", 0),
			tm("<c@x>", "<gone@x>", "Re: Topic", 3),
			tm("<d@x>", "<lost@x>", "Re: Topic", 1),
			tm("<e@x>", "<lost@x>", "Re: Topic", 2),
		}, "((1)(3)(4)(2))"},
		{"subject: only the first message of a thread counts", []threadMsg{
			tm("<a@x>", "", "One", 0),
			tm("<b@x>", "<a@x>", "Two", 1),
			tm("<c@x>", "", "Two", 2),
		}, "(1 2)(3)"},
		{"subject: the merged thread moves to its date", []threadMsg{
			tm("<a@x>", "", "Alpha", 0),
			tm("<b@x>", "", "Beta", 1),
			tm("<c@x>", "", "Re: Alpha", 2),
		}, "(1 3)(2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatThreads(threadMessages(threadReferences, tc.msgs)); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestThreadRefs(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []threadMsg
		want string
	}{
		{"empty mailbox", nil, ""},
		{"one message", []threadMsg{tm("<a@x>", "", "Hi", 0)}, "(1)"},
		{"no merging by subject", []threadMsg{
			tm("<a@x>", "", "Hello", 0),
			tm("<b@x>", "", "Re: Hello", 1),
		}, "(1)(2)"},
		{"threads ordered by their latest message", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<b@x>", "", "two", 5),
			tm("<c@x>", "<a@x>", "Re: one", 10),
		}, "(2)(1 3)"},
		{"a dummy thread by its latest message", []threadMsg{
			tm("<b@x>", "<gone@x>", "one", 20),
			tm("<c@x>", "<gone@x>", "two", 0),
			tm("<d@x>", "", "three", 10),
		}, "(3)((2)(1))"},
		{"equal latest dates: by sequence", []threadMsg{
			tm("<a@x>", "", "one", 5),
			tm("<b@x>", "", "two", 5),
		}, "(1)(2)"},
		{"loops and duplicates as REFERENCES", []threadMsg{
			tm("<a@x>", "<b@x>", "one", 0),
			tm("<b@x>", "<a@x>", "two", 1),
			tm("<b@x>", "<b@x>", "three", 2),
		}, "(2 (1)(3))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatThreads(threadMessages(threadRefs, tc.msgs)); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []threadMsg
		want string
	}{
		{"empty mailbox", nil, ""},
		{"one message", []threadMsg{tm("", "", "Hi", 0)}, "(1)"},
		{"by base subject, then date", []threadMsg{
			tm("", "", "B", 1),
			tm("", "", "A", 2),
			tm("", "", "Re: B", 3),
			tm("", "", "re: a", 0),
			tm("", "", "C", 4),
			tm("", "", "[list] b (fwd)", 5),
		}, "(4 2)(1 (3)(6))(5)"},
		{"references are ignored", []threadMsg{
			tm("<a@x>", "", "one", 0),
			tm("<b@x>", "<a@x>", "two", 1),
		}, "(1)(2)"},
		{"empty subjects are one thread", []threadMsg{
			tm("", "", "", 0),
			tm("", "", "Re:", 1),
		}, "(1 2)"},
		{"ties by sequence", []threadMsg{
			tm("", "", "x", 0),
			tm("", "", "y", 0),
			tm("", "", "x", 0),
		}, "(1 3)(2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatThreads(threadMessages(threadOrderedSubject, tc.msgs)); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

// TestAppendThreads writes the examples of the thread-list grammar (RFC
// 5256 §4): "(2)(3 6 (4 23)(44 7 96))" and a dummy root.
func TestAppendThreads(t *testing.T) {
	leaf := func(n int) *threadNode { return &threadNode{msg: n} }
	node := func(n int, kids ...*threadNode) *threadNode { return &threadNode{msg: n, kids: kids} }
	num := func(i int) uint32 { return uint32(i) }
	for _, tc := range []struct {
		threads []*threadNode
		want    string
	}{
		{[]*threadNode{leaf(2), node(3, node(6, node(4, leaf(23)), node(44, node(7, leaf(96)))))},
			"(2)(3 6 (4 23)(44 7 96))"},
		{[]*threadNode{node(-1, leaf(170), leaf(179))}, "((170)(179))"},
		{[]*threadNode{node(-1, leaf(194), node(195, leaf(196)))}, "((194)(195 196))"},
		{[]*threadNode{node(177, leaf(183), leaf(182), node(188, leaf(184), leaf(185)))},
			"(177 (183)(182)(188 (184)(185)))"},
		{[]*threadNode{node(1, node(2, leaf(3), leaf(4)), leaf(5))}, "(1 (2 (3)(4))(5))"},
		{nil, ""},
	} {
		if got := string(appendThreads(nil, tc.threads, num)); got != tc.want {
			t.Errorf("got %s; want %s", got, tc.want)
		}
	}
}

func TestParseMsgIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"<a@x>", []string{"a@x"}},
		{"  <a@x>\t<b@y>  <c@z>", []string{"a@x", "b@y", "c@z"}},
		{`<"01KF8JCEOCBS0045PS"@xxx.yyy.com>`, []string{"01KF8JCEOCBS0045PS@xxx.yyy.com"}},
		{`<"a\"b"@x>`, []string{`a"b@x`}},
		{"< a . b @ x >", []string{"a.b@x"}},
		{"<a(comment)@x>", []string{"a@x"}},
		{"(a comment with <c@x>) <a@x>", []string{"a@x"}},
		{`"phrase <c@x>" <a@x>`, []string{"a@x"}},
		{"Your message of Mon, 1 Jan <a@x>", []string{"a@x"}},
		{"<a@[1.2.3.4]>", []string{"a@[1.2.3.4]"}},
		{"<noat> <@x> <a@> <a@x>", []string{"a@x"}},
		{"<a@x <b@x>", []string{"b@x"}},
		{"<a@x", nil},
		{"", nil},
		{"<Case@X>", []string{"Case@X"}},
	} {
		if got := parseMsgIDs(tc.in, 0); !slices.Equal(got, tc.want) {
			t.Errorf("parseMsgIDs(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	// Hostile fields of a megabyte cost linear time (a scan per "<" to the
	// end of the field would not finish).
	for _, f := range []string{strings.Repeat("<", 1<<20), strings.Repeat("<a", 1<<19),
		strings.Repeat("(", 1<<20), "<" + strings.Repeat(`"<`, 1<<19), strings.Repeat("<a@x>", 1<<18)} {
		ids := parseMsgIDs(f, 0)
		if len(ids) != 0 && len(ids) != 1<<18 {
			t.Errorf("hostile field %.10q: %d IDs", f, len(ids))
		}
	}
	if got := firstMsgID("<bad> <a@x> <b@x>"); got != "a@x" {
		t.Errorf("firstMsgID = %q; want a@x", got)
	}
}

func TestBaseSubjectRefwd(t *testing.T) {
	for _, tc := range []struct {
		in    string
		base  string
		refwd bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"[list] Re: Hello", "Hello", true},
		{"Hello (fwd)", "Hello", true},
		{"[Fwd: Hello]", "Hello", true},
		{"Regarding: Hello", "Regarding: Hello", false},
		{"", "", false},
	} {
		base, refwd := baseSubjectRefwd(tc.in)
		if base != tc.base || refwd != tc.refwd {
			t.Errorf("baseSubjectRefwd(%q) = %q, %v; want %q, %v", tc.in, base, refwd, tc.base, tc.refwd)
		}
	}
}

func TestThreadFields(t *testing.T) {
	hdr := "Subject: x\r\nreferences: <a@x>\r\n <b@x>\r\nX-References: <no@x>\r\nMessage-Id : <m@x>\r\n" +
		"In-Reply-To: (comment)\r\n\t<i@x>\r\nReferences: <c@x>\r\nMessage-ID: <second@x>\r\nIn-Reply-To: <second@x>\r\n" +
		"\r\nReferences: <body@x>\r\n"
	id, irt, refs := threadFields([]byte(hdr))
	if got := parseMsgIDs(refs, 0); !slices.Equal(got, []string{"a@x", "b@x", "c@x"}) {
		t.Errorf("References: got %q; want a@x b@x c@x", got)
	}
	if got := parseMsgIDs(id, 0); !slices.Equal(got, []string{"m@x"}) {
		t.Errorf("Message-ID: got %q; want the first field only, m@x", got)
	}
	if got := parseMsgIDs(irt, 0); !slices.Equal(got, []string{"i@x"}) {
		t.Errorf("In-Reply-To: got %q; want the first field only, i@x", got)
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"a: b\r\n\r\nbody", true},
		{"a: b\n\nbody", true},
		{"\r\nbody", true},
		{"a: b\r\nc: d\r\n", false},
		{"a: b\r\n c", false},
	} {
		if got := headerComplete([]byte(tc.in)); got != tc.want {
			t.Errorf("headerComplete(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

// TestThreadDeepChain threads one reply chain of 100,000 messages, each
// naming its last ancestors in References, and then the same with the messages in reverse
// order: nothing may recurse per level or walk the chain per message.
func TestThreadDeepChain(t *testing.T) {
	const n = 100_000
	msgs := chainMessages(n, 3)
	var want strings.Builder
	want.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			want.WriteByte(' ')
		}
		want.WriteString(strconv.Itoa(i))
	}
	want.WriteByte(')')
	for _, alg := range []threadAlg{threadReferences, threadRefs} {
		if got := formatThreads(threadMessages(alg, msgs)); got != want.String() {
			t.Errorf("alg %d: got %.80s...; want %.80s...", alg, got, want.String())
		}
	}
	slices.Reverse(msgs)
	got := formatThreads(threadMessages(threadReferences, msgs))
	if !strings.HasPrefix(got, fmt.Sprintf("(%d %d ", n, n-1)) || !strings.HasSuffix(got, " 2 1)") {
		t.Errorf("reversed: got %.40s...%s", got, got[max(0, len(got)-40):])
	}
}

// chainMessages builds one reply chain of n messages, each naming its last
// refs ancestors in References, as mailers truncate it.
func chainMessages(n, refs int) []threadMsg {
	msgs := make([]threadMsg, n)
	for i := range msgs {
		var b strings.Builder
		for j := max(0, i-refs); j < i; j++ {
			fmt.Fprintf(&b, "<m%d@example.com> ", j)
		}
		msgs[i] = tm(fmt.Sprintf("<m%d@example.com>", i), b.String(), "Re: chain", i)
	}
	return msgs
}

// folderMessages builds a folder of n messages in threads of up to 30,
// with replies and forwards, missing parents and messages without any
// references, interleaved in arrival order as real mail is.
func folderMessages(n int) []threadMsg {
	msgs := make([]threadMsg, n)
	seed := uint32(1)
	rnd := func(k int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % k }
	type thread struct {
		id    int
		size  int
		refs  []string
		topic string
	}
	var open []*thread
	next := 0
	for i := range msgs {
		if len(open) == 0 || rnd(4) == 0 {
			next++
			th := &thread{id: next, topic: fmt.Sprintf("topic %d", next)}
			if rnd(10) == 0 {
				th.refs = []string{fmt.Sprintf("<lost%d@example.com>", next)} // parent not in the folder
			}
			open = append(open, th)
		}
		k := rnd(len(open))
		th := open[k]
		id := fmt.Sprintf("<t%d.%d@example.com>", th.id, th.size)
		subj := th.topic
		if th.size > 0 {
			subj = []string{"Re: ", "RE: Re: ", "Fwd: ", "[list] Re: "}[rnd(4)] + subj
		}
		refs := strings.Join(th.refs[max(0, len(th.refs)-20):], " ")
		if rnd(20) == 0 {
			refs = "" // a mailer that sends none
		}
		msgs[i] = tm(id, refs, subj, i/3+rnd(100))
		// A reply to a random earlier message of the thread: the thread is
		// a tree, not a chain.
		th.refs = append(th.refs[:len(th.refs)-rnd(min(3, len(th.refs)+1))], id)
		th.size++
		if th.size >= 30 || rnd(8) == 0 {
			open = slices.Delete(open, k, k+1)
		}
	}
	return msgs
}

// TestThreadFolder checks that every message of a large folder appears
// exactly once in the answer of every algorithm.
func TestThreadFolder(t *testing.T) {
	msgs := folderMessages(20_000)
	for _, alg := range []threadAlg{threadOrderedSubject, threadReferences, threadRefs} {
		seen := make([]int, len(msgs))
		var walk func(n *threadNode)
		walk = func(n *threadNode) {
			if n.msg >= 0 {
				seen[n.msg]++
			} else if len(n.kids) < 2 {
				t.Errorf("alg %d: a dummy with %d children", alg, len(n.kids))
			}
			for _, k := range n.kids {
				if k.msg < 0 {
					t.Errorf("alg %d: a dummy below the top", alg)
				}
				walk(k)
			}
		}
		threads := threadMessages(alg, msgs)
		for _, th := range threads {
			walk(th)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("alg %d: message %d appears %d times", alg, i+1, c)
			}
		}
		if len(threads) < 100 || len(threads) > len(msgs)/2 {
			t.Errorf("alg %d: %d threads for %d messages", alg, len(threads), len(msgs))
		}
	}
}

// BenchmarkThread threads a 100,000-message folder with each algorithm,
// from the data read to the response written.
func BenchmarkThread(b *testing.B) {
	msgs := folderMessages(100_000)
	chain := chainMessages(100_000, 20)
	num := func(i int) uint32 { return uint32(i + 1) }
	for _, bc := range []struct {
		name string
		alg  threadAlg
		msgs []threadMsg
	}{
		{"ORDEREDSUBJECT", threadOrderedSubject, msgs},
		{"REFERENCES", threadReferences, msgs},
		{"REFS", threadRefs, msgs},
		{"REFERENCES-chain", threadReferences, chain},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				out = appendThreads(out[:0], threadMessages(bc.alg, bc.msgs), num)
			}
		})
	}
}

// TestThreadRandom threads many small random folders whose Message IDs
// come from a small pool, so that duplicates, loops, self-references,
// missing parents and equal dates are common, and checks what every answer
// must hold: each message exactly once; dummies only at the top, with two
// children or more; every set of siblings in sent-date order (a dummy by
// its first child); the threads in the order of their algorithm.
func TestThreadRandom(t *testing.T) {
	seed := uint32(7)
	rnd := func(k int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % k }
	id := func() string {
		if rnd(8) == 0 {
			return "" // none
		}
		return fmt.Sprintf("<%d@x>", rnd(12))
	}
	subjects := []string{"", "a", "Re: a", "Fwd: a", "b", "re: B", "[l] b (fwd)", "c", "Re:", "[fwd: c]"}
	for round := 0; round < 3000; round++ {
		msgs := make([]threadMsg, rnd(14))
		for i := range msgs {
			var refs []string
			for range rnd(5) {
				refs = append(refs, id())
			}
			msgs[i] = tm(id(), strings.Join(refs, " "), subjects[rnd(len(subjects))], rnd(6))
			if rnd(4) == 0 {
				msgs[i].inReplyTo = id()
			}
		}
		for _, alg := range []threadAlg{threadOrderedSubject, threadReferences, threadRefs} {
			threads := threadMessages(alg, msgs)
			if err := checkThreads(msgs, alg, threads); err != "" {
				var b strings.Builder
				for i, m := range msgs {
					fmt.Fprintf(&b, "\n%d: id %q refs %q irt %q subject %q minute %v", i+1, m.messageID, m.references,
						m.inReplyTo, m.subject, m.date.Sub(threadEpoch).Minutes())
				}
				t.Fatalf("round %d alg %d: %s\nanswer %s\nmessages:%s", round, alg, err, formatThreads(threads), b.String())
			}
		}
	}
}

// checkThreads returns what is wrong with an answer, or "".
func checkThreads(msgs []threadMsg, alg threadAlg, threads []*threadNode) string {
	seen := make([]int, len(msgs))
	first := func(n *threadNode) int {
		for n.msg < 0 {
			n = n.kids[0]
		}
		return n.msg
	}
	var problem string
	var latest func(n *threadNode) int
	latest = func(n *threadNode) int {
		best := n.msg
		for _, k := range n.kids {
			if l := latest(k); best < 0 || compareSent(msgs, l, best) > 0 {
				best = l
			}
		}
		return best
	}
	var walk func(n *threadNode, top bool)
	walk = func(n *threadNode, top bool) {
		if n.msg >= 0 {
			seen[n.msg]++
		} else if !top || len(n.kids) < 2 {
			problem = fmt.Sprintf("a dummy with %d children (top: %v)", len(n.kids), top)
			return
		}
		for i, k := range n.kids {
			if i > 0 && compareSent(msgs, first(n.kids[i-1]), first(k)) > 0 {
				problem = fmt.Sprintf("children of %d out of order", n.msg+1)
			}
			if alg == threadOrderedSubject && len(k.kids) > 0 {
				problem = "ORDEREDSUBJECT with grandchildren"
			}
			walk(k, false)
		}
	}
	for i, th := range threads {
		walk(th, true)
		if i == 0 {
			continue
		}
		a, b := first(threads[i-1]), first(th)
		if alg == threadRefs {
			a, b = latest(threads[i-1]), latest(th)
		}
		if compareSent(msgs, a, b) > 0 {
			problem = fmt.Sprintf("threads %d and %d out of order", i, i+1)
		}
	}
	for i, c := range seen {
		if c != 1 {
			return fmt.Sprintf("message %d appears %d times", i+1, c)
		}
	}
	return problem
}

// naiveReferences is REFERENCES (and REFS) written as RFC 5256 §3 reads,
// with pointers, a walk up the tree for every loop check and no care for
// speed: the differential test compares threadMessages with it.
func naiveReferences(msgs []threadMsg, refs bool) []*threadNode {
	type nnode struct {
		msg    int
		parent *nnode
		kids   []*nnode
	}
	ids := map[string]*nnode{}
	var all []*nnode
	newNode := func(msg int) *nnode { n := &nnode{msg: msg}; all = append(all, n); return n }
	// descends reports whether b is a or below it.
	descends := func(b, a *nnode) bool {
		for x := b; x != nil; x = x.parent {
			if x == a {
				return true
			}
		}
		return false
	}
	setParent := func(c, p *nnode) {
		if c.parent != nil {
			c.parent.kids = slices.DeleteFunc(c.parent.kids, func(x *nnode) bool { return x == c })
		}
		c.parent = p
		if p != nil {
			p.kids = append(p.kids, c)
		}
	}
	for i, m := range msgs {
		own := firstMsgID(m.messageID)
		var cur *nnode
		if own != "" {
			if n, ok := ids[own]; !ok {
				cur = newNode(i)
				ids[own] = cur
			} else if n.msg < 0 {
				n.msg, cur = i, n
			} else {
				own = ""
			}
		}
		if cur == nil {
			cur = newNode(i)
		}
		list := parseMsgIDs(m.references, 0)
		if len(list) == 0 {
			list = parseMsgIDs(m.inReplyTo, 1)
		}
		var last *nnode
		for _, id := range list {
			if own != "" && id == own {
				continue
			}
			n, ok := ids[id]
			if !ok {
				n = newNode(-1)
				ids[id] = n
			}
			if last != nil && n.parent == nil && !descends(last, n) {
				setParent(n, last)
			}
			last = n
		}
		if cur.parent != last {
			setParent(cur, nil)
			if last != nil && !descends(last, cur) {
				setParent(cur, last)
			}
		}
	}
	var root []*nnode
	for _, n := range all {
		if n.parent == nil {
			root = append(root, n)
		}
	}
	var prune func(list []*nnode, top bool) []*nnode
	prune = func(list []*nnode, top bool) []*nnode {
		var out []*nnode
		for _, n := range list {
			n.kids = prune(n.kids, false)
			if n.msg < 0 && (len(n.kids) == 0 || !top || len(n.kids) == 1) {
				out = append(out, n.kids...)
				continue
			}
			out = append(out, n)
		}
		return out
	}
	root = prune(root, true)
	key := func(n *nnode) int {
		for n.msg < 0 {
			n = n.kids[0]
		}
		return n.msg
	}
	sortKids := func(list []*nnode) {
		slices.SortFunc(list, func(a, b *nnode) int { return compareSent(msgs, key(a), key(b)) })
	}
	var sortAll func(list []*nnode)
	sortAll = func(list []*nnode) {
		for _, n := range list {
			sortAll(n.kids)
		}
		sortKids(list)
	}
	if !refs {
		for _, n := range root {
			if n.msg < 0 {
				sortKids(n.kids)
			}
		}
		sortKids(root)
		subject := func(n *nnode) (string, bool) {
			s, refwd := baseSubjectRefwd(msgs[key(n)].subject)
			return asciiCasemap(s), refwd
		}
		table := map[string]*nnode{}
		for _, n := range root {
			s, refwd := subject(n)
			if s == "" {
				continue
			}
			e, ok := table[s]
			if !ok {
				table[s] = n
				continue
			}
			_, erefwd := subject(e)
			if e.msg >= 0 && (n.msg < 0 || (erefwd && !refwd)) {
				table[s] = n
			}
		}
		for i := 0; i < len(root); i++ {
			n := root[i]
			s, refwd := subject(n)
			if s == "" || table[s] == n {
				continue
			}
			e := table[s]
			_, erefwd := subject(e)
			switch {
			case e.msg < 0 && n.msg < 0:
				e.kids = append(e.kids, n.kids...)
			case e.msg < 0, refwd && !erefwd:
				e.kids = append(e.kids, n)
			default:
				d := &nnode{msg: -1, kids: []*nnode{e, n}}
				table[s] = d
				root[slices.Index(root, e)] = d
			}
			root = slices.Delete(root, i, i+1)
			i--
		}
	}
	for _, n := range root {
		sortAll(n.kids)
	}
	if refs {
		var latest func(n *nnode) int
		latest = func(n *nnode) int {
			best := n.msg
			for _, k := range n.kids {
				if l := latest(k); best < 0 || compareSent(msgs, l, best) > 0 {
					best = l
				}
			}
			return best
		}
		slices.SortFunc(root, func(a, b *nnode) int { return compareSent(msgs, latest(a), latest(b)) })
	} else {
		sortKids(root)
	}
	var conv func(n *nnode) *threadNode
	conv = func(n *nnode) *threadNode {
		t := &threadNode{msg: n.msg}
		for _, k := range n.kids {
			t.kids = append(t.kids, conv(k))
		}
		return t
	}
	out := make([]*threadNode, len(root))
	for i, n := range root {
		out[i] = conv(n)
	}
	return out
}

// TestThreadDifferential compares REFERENCES and REFS with naiveReferences
// over random folders made to contain every hard case.
func TestThreadDifferential(t *testing.T) {
	seed := uint32(11)
	rnd := func(k int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % k }
	subjects := []string{"", "a", "Re: a", "Fwd: a", "b", "re: B", "[l] b (fwd)", "c", "Re:", "[fwd: c]", "d", "e"}
	for round := 0; round < 5000; round++ {
		pool := 3 + rnd(20)
		id := func() string {
			if rnd(10) == 0 {
				return "<junk>"
			}
			return fmt.Sprintf("<%d@x>", rnd(pool))
		}
		msgs := make([]threadMsg, rnd(25))
		for i := range msgs {
			var refs []string
			for range rnd(6) {
				refs = append(refs, id())
			}
			msgs[i] = tm(id(), strings.Join(refs, " "), subjects[rnd(len(subjects))], rnd(10))
			if rnd(3) == 0 {
				msgs[i].inReplyTo = id()
			}
		}
		for _, refs := range []bool{false, true} {
			got := formatThreads(threadByReferences(msgs, refs))
			want := formatThreads(naiveReferences(msgs, refs))
			if got != want {
				var b strings.Builder
				for i, m := range msgs {
					fmt.Fprintf(&b, "\n%d: id %q refs %q irt %q subject %q minute %v", i+1, m.messageID, m.references,
						m.inReplyTo, m.subject, m.date.Sub(threadEpoch).Minutes())
				}
				t.Fatalf("round %d refs %v:\ngot  %s\nwant %s\nmessages:%s", round, refs, got, want, b.String())
			}
		}
	}
}

// TestThreadRFCExample rebuilds a mailbox behind the example responses of
// RFC 5256 §4 (messages 166 to 208, "THREAD ORDEREDSUBJECT UTF-8 SINCE
// 5-MAR-2000" and "THREAD REFERENCES UTF-8 SINCE 5-MAR-2000"): the RFC
// does not give the messages, so these are ones consistent with both
// answers, and both answers must come out exactly as printed there.
func TestThreadRFCExample(t *testing.T) {
	type m struct {
		num     int
		minute  int
		subject string
		refs    string
	}
	ref := func(nums ...int) string {
		var s []string
		for _, n := range nums {
			s = append(s, fmt.Sprintf("<%d@rfc.example>", n))
		}
		return strings.Join(s, " ")
	}
	special := map[int]m{
		172: {minute: 1695},
		170: {subject: "s170", refs: "<gone@rfc.example>"},
		179: {minute: 1745, subject: "s179", refs: "<gone@rfc.example>"},
		174: {subject: "Topic"}, 175: {subject: "Topic"}, 176: {subject: "Topic"},
		178: {subject: "Topic"}, 181: {minute: 1785, subject: "Topic"}, 180: {subject: "Topic"},
		177: {minute: 1770, subject: "Plan"},
		183: {minute: 1771, subject: "Re: Plan", refs: ref(177)},
		182: {minute: 1772, subject: "Re: Plan", refs: ref(177)},
		188: {minute: 1773, subject: "Re: Plan", refs: ref(177)},
		184: {minute: 1774, subject: "Re: Plan", refs: ref(177, 188)},
		185: {minute: 1775, subject: "Re: Plan", refs: ref(177, 188)},
		186: {minute: 1776, subject: "Re: Plan", refs: ref(177, 188)},
		187: {minute: 1777, subject: "Re: Plan", refs: ref(177, 188)},
		189: {minute: 1778, subject: "Re: Plan", refs: ref(177, 188)},
		194: {subject: "Pair"}, 195: {subject: "Pair"},
		196: {subject: "Other", refs: ref(195)},
		197: {subject: "Re: Other"},
		198: {subject: "Re: Other", refs: ref(197)},
		200: {subject: "Tea"}, 202: {subject: "Re: Tea", refs: ref(200)},
		205: {subject: "Start"},
		206: {subject: "Middle", refs: ref(205)},
		207: {subject: "Re: Middle", refs: ref(205, 206)},
	}
	var msgs []threadMsg
	for n := 166; n <= 208; n++ {
		s := special[n]
		if s.minute == 0 {
			s.minute = n * 10
		}
		if s.subject == "" {
			s.subject = fmt.Sprintf("s%d", n)
		}
		msgs = append(msgs, tm(fmt.Sprintf("<%d@rfc.example>", n), s.refs, s.subject, s.minute))
	}
	num := func(i int) uint32 { return uint32(i + 166) }
	for _, tc := range []struct {
		alg  threadAlg
		want string
	}{
		{threadOrderedSubject, "(166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)"},
		{threadReferences, "(166)(167)(168)(169)(172)((170)(179))(171)(173)((174)(175)(176)(178)(181)(180))(177 (183)(182)(188 (184)(185)(186)(187)(189)))(190)(191)(192)(193)((194)(195 196))(197 198)(199)(200 202)(201)(203)(204)(205 206 207)(208)"},
	} {
		if got := string(appendThreads(nil, threadMessages(tc.alg, msgs), num)); got != tc.want {
			t.Errorf("alg %d:\ngot  %s\nwant %s", tc.alg, got, tc.want)
		}
	}
}

// FuzzThread decodes arbitrary bytes into a folder (fields separated by
// "|", messages by newlines: Message-ID|References|In-Reply-To|Subject,
// dates from the line length) and checks every algorithm's answer, and
// REFERENCES and REFS against naiveReferences.
func FuzzThread(f *testing.F) {
	f.Add("<a@x>||| Hello\n<b@x>|<a@x>||Re: hello\n<c@x>|<b@x> <a@x>|<a@x>|x")
	f.Add("<a@x>|<b@x>||one\n<b@x>|<a@x>||two\n<b@x>|<b@x>||three\n|<\"q\"@x> (c)|<gone@x>|[fwd: Re: x]")
	f.Fuzz(func(t *testing.T, data string) {
		var msgs []threadMsg
		for i, line := range strings.Split(data, "\n") {
			if i == 200 {
				break
			}
			f := strings.SplitN(line, "|", 4)
			for len(f) < 4 {
				f = append(f, "")
			}
			m := tm(f[0], f[1], f[3], len(line)%7)
			m.inReplyTo = f[2]
			msgs = append(msgs, m)
		}
		for _, alg := range []threadAlg{threadOrderedSubject, threadReferences, threadRefs} {
			if err := checkThreads(msgs, alg, threadMessages(alg, msgs)); err != "" {
				t.Fatalf("alg %d: %s", alg, err)
			}
		}
		for _, refs := range []bool{false, true} {
			if got, want := formatThreads(threadByReferences(msgs, refs)), formatThreads(naiveReferences(msgs, refs)); got != want {
				t.Fatalf("refs %v: got %s; want %s", refs, got, want)
			}
		}
	})
}
