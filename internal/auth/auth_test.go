package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash format: %s", h)
	}
	h2, _ := Hash("correct horse", fast)
	if h == h2 {
		t.Errorf("two hashes of one password must differ by salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct hors", false}, {"", false}, {"Correct horse", false}} {
		got, err := Verify(h, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("verify %q: got %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=x$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := Verify(bad, "x"); err == nil {
			t.Errorf("verify against %q must fail", bad)
		}
	}
}

func TestCheckerCache(t *testing.T) {
	c := NewChecker(CheckerOptions{Params: fast, CacheTTL: time.Minute})
	h, _ := c.Hash("pw")
	if !c.Check(1, h, "pw") || !c.Check(1, h, "pw") {
		t.Fatal("correct password refused")
	}
	if len(c.cache) != 1 {
		t.Errorf("cache entries: %d; want 1", len(c.cache))
	}
	if c.Check(1, h, "wrong") {
		t.Error("wrong password accepted")
	}
	// A new hash (password changed elsewhere) does not hit the old entry.
	h2, _ := c.Hash("new")
	if c.Check(1, h2, "pw") {
		t.Error("old password accepted after the hash changed")
	}
	if !c.Check(1, h2, "new") {
		t.Error("new password refused")
	}
	c.Forget(1)
	if len(c.cache) != 0 {
		t.Errorf("forget left %d entries", len(c.cache))
	}
	if c.Check(0, "", "anything") {
		t.Error("unknown user accepted")
	}
}

func TestCheckerCacheBound(t *testing.T) {
	c := NewChecker(CheckerOptions{Params: fast, CacheTTL: time.Minute, CacheSize: 20})
	for i := 0; i < 100; i++ {
		pw := fmt.Sprint("pw", i)
		h, _ := c.Hash(pw)
		if !c.Check(int64(i), h, pw) {
			t.Fatalf("password %d refused", i)
		}
		if len(c.cache) > 20 {
			t.Fatalf("cache grew to %d past its bound of 20", len(c.cache))
		}
	}
}

func TestThrottle(t *testing.T) {
	o := ThrottleOptions{Window: time.Minute, Free: 2, BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond,
		LockAfter: 5, LockUserAfter: 8, LockFor: 10 * time.Minute}
	th := NewThrottle(o)
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	kim := UserKey(7, "kim")
	wantDelays := []time.Duration{0, 0, 100, 200, 400}
	for i, d := range wantDelays {
		if v := th.Check("1.2.3.4", kim); v.Delay != d*time.Millisecond || v.Locked {
			t.Errorf("attempt %d: got %+v; want delay %dms", i, v, d)
		}
		th.Fail("1.2.3.4:5000", kim)
	}
	v := th.Check("1.2.3.4:6000", UserKey(0, "other"))
	if !v.Locked || v.RetryAfter != 10*time.Minute {
		t.Errorf("after 5 failures the address is locked: got %+v; want locked for 10m", v)
	}
	// Another address for the same user is slowed (user count 5) but not locked.
	if v := th.Check("5.6.7.8", kim); v.Locked || v.Delay != 400*time.Millisecond {
		t.Errorf("other address, same user: got %+v; want a 400ms delay", v)
	}
	for i := 0; i < 3; i++ {
		th.Fail("5.6.7.8", kim)
	}
	if v := th.Check("9.9.9.9", kim); !v.Locked {
		t.Errorf("after 8 failures: got %+v; want the user locked", v)
	}
	now = now.Add(11 * time.Minute)
	if v := th.Check("1.2.3.4", kim); v.Locked || v.Delay != 0 {
		t.Errorf("after the lock and window passed: got %+v; want nothing", v)
	}
	x := UserKey(0, "x")
	th.Fail("1.2.3.4", x)
	th.Fail("1.2.3.4", x)
	th.Fail("1.2.3.4", x)
	th.Succeed(x)
	if v := th.Check("4.4.4.4", x); v.Delay != 0 {
		t.Errorf("a success resets the user: got %+v; want no delay", v)
	}
	off := NewThrottle(ThrottleOptions{Disabled: true})
	for i := 0; i < 100; i++ {
		off.Fail("a", "b")
	}
	if v := off.Check("a", "b"); v != (Verdict{}) {
		t.Errorf("disabled throttle: got %+v; want nothing", v)
	}
}

// TestThrottleSuccessKeepsAddress: good logins of one user from an address
// do not clear the guesses made at others from it (issue 11, finding 2:
// 40 wrong guesses interleaved with christa's good logins were never
// delayed).
func TestThrottleSuccessKeepsAddress(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: time.Hour, Free: 3, BaseDelay: time.Second, MaxDelay: 8 * time.Second,
		LockAfter: 20, LockUserAfter: 50, LockFor: time.Hour})
	th.now = func() time.Time { return time.Unix(1000, 0) }
	christa, kim := UserKey(1, "christa"), UserKey(2, "kim")
	var delayed, locked int
	for i := 0; i < 40; i++ {
		v := th.Check("192.0.2.9:1000", kim)
		if v.Locked {
			locked++
			continue
		}
		if v.Delay > 0 {
			delayed++
		}
		th.Fail("192.0.2.9:1001", kim)
		if v := th.Check("192.0.2.9:1002", christa); !v.Locked {
			th.Succeed(christa)
		}
	}
	if delayed != 17 || locked != 20 {
		t.Errorf("40 guesses interleaved with good logins: got %d delayed, %d refused; want 17, 20", delayed, locked)
	}
	if v := th.Check("192.0.2.9", christa); !v.Locked {
		t.Errorf("christa from the locked address: got %+v; want locked (the address is)", v)
	}
	if v := th.Check("198.51.100.1", christa); v.Locked || v.Delay != 0 {
		t.Errorf("christa from elsewhere: got %+v; want nothing", v)
	}
}

// TestThrottleRefusedCount: attempts at a lock are counted, so that the
// caller records the first only.
func TestThrottleRefusedCount(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: time.Hour, Free: 100, LockAfter: 2, LockUserAfter: 100, LockFor: time.Hour})
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	k := UserKey(0, "kim")
	th.Fail("10.0.0.1", k)
	th.Fail("10.0.0.1", k)
	for i := 1; i <= 5; i++ {
		if v := th.Check("10.0.0.1", k); !v.Locked || v.Refused != i {
			t.Errorf("attempt %d at the lock: got %+v; want locked, Refused %d", i, v, i)
		}
	}
	// A new lock counts from one again.
	now = now.Add(2 * time.Hour)
	th.Fail("10.0.0.1", k)
	th.Fail("10.0.0.1", k)
	if v := th.Check("10.0.0.1", k); !v.Locked || v.Refused != 1 {
		t.Errorf("first attempt at a new lock: got %+v; want locked, Refused 1", v)
	}
}

func TestUserKey(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	for _, tc := range []struct {
		id         int64
		name, want string
	}{
		{7, "kim", "mailbox:7"},
		{7, " KIM\t", "mailbox:7"},
		{7, "Kim Akers ", "mailbox:7"},
		{0, "kim", "name:kim"},
		{0, " KIM\t", "name:kim"},
		{0, "Kim Akers ", "name:kim akers"},
		// Go's simple case mapping, as the directory's lookup uses.
		{0, "KİM", "name:kim"},
		{0, "kim\x00", "name:kim\ufffd"},
		{0, long, "name:" + long[:MaxNameLen]},
	} {
		if got := UserKey(tc.id, tc.name); got != tc.want {
			t.Errorf("UserKey(%d, %.40q): got %.60q; want %.60q", tc.id, tc.name, got, tc.want)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"kim", "kim", true},
		{" Kim@Contoso.COM\t", "kim@contoso.com", true},
		{"", "", false},
		{" \t", "", false},
		{"kim\x00", "kim\x00", false},
		{"k\xffim", "k\ufffdim", false},
		{strings.Repeat("k", MaxNameLen), strings.Repeat("k", MaxNameLen), true},
		{strings.Repeat("k", MaxNameLen+1), "", false},
	} {
		got, ok := CanonicalName(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CanonicalName(%.40q): got %.40q, %v; want %.40q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCapName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"kim", "kim"},
		{"kim\x00\r\n", "kim\ufffd\ufffd\ufffd"},
		{"k\xffim", "k\ufffdim"},
		{strings.Repeat("k", 300), strings.Repeat("k", MaxNameLen)},
		// Cut at a character boundary: 127 two-octet characters fit.
		{strings.Repeat("é", 200), strings.Repeat("é", MaxNameLen/2)},
		{"k" + strings.Repeat("é", 200), "k" + strings.Repeat("é", MaxNameLen/2-1)},
	} {
		if got := CapName(tc.name); got != tc.want || len(got) > MaxNameLen {
			t.Errorf("CapName(%.40q): got %.40q (%d octets); want %.40q", tc.name, got, len(got), tc.want)
		}
	}
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:993", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:110", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:143", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:143", "fe80::/64"},
	} {
		if got := AddrKey(tc.addr); got != tc.want {
			t.Errorf("AddrKey(%q): got %q; want %q", tc.addr, got, tc.want)
		}
	}
}

// TestPreparePassword: RFC 8265 OpaqueString as SASLprep's successor: a
// no-break space is a space, composed and decomposed characters are one,
// ASCII is unchanged, control characters and empty strings are refused.
func TestPreparePassword(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Contoso-Demo-2026", "Contoso-Demo-2026", true},
		{"Caf\u00e9\u00a0Pass", "Caf\u00e9 Pass", true},
		{"Cafe\u0301\u00a0Pass", "Caf\u00e9 Pass", true},
		{"I\u2003am\u3000here", "I am here", true},
		{"tab\there", "", false},
		{"", "", false},
	} {
		got, err := PreparePassword(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("PreparePassword(%+q) = %+q, %v; want %+q (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestCheckPreparesPassword: a hash made by Hash verifies every spelling of
// the password that prepares alike, and a hash made before passwords were
// prepared (from the password as typed) still verifies as typed.
func TestCheckPreparesPassword(t *testing.T) {
	p := Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}
	c := NewChecker(CheckerOptions{Params: p})
	h, err := c.Hash("Caf\u00e9\u00a0Pass-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"Caf\u00e9\u00a0Pass-1", "Cafe\u0301\u00a0Pass-1", "Caf\u00e9 Pass-1"} {
		if !c.Check(1, h, pw) {
			t.Errorf("Check(%+q): false; want true", pw)
		}
	}
	if c.Check(1, h, "Cafe Pass-1") {
		t.Error("Check of another password: true")
	}
	legacy, _ := Hash("Cafe\u0301\u00a0Pass-1", p) // as typed, unprepared
	if !c.Check(2, legacy, "Cafe\u0301\u00a0Pass-1") {
		t.Error("a hash made before preparation no longer verifies the password as typed")
	}
	if _, err := c.Hash("tab\tin"); err == nil {
		t.Error("Hash of a password with a tab: no error")
	}
}
