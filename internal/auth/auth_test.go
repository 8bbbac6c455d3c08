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
	wantDelays := []time.Duration{0, 0, 100, 200, 400}
	for i, d := range wantDelays {
		if v := th.Check("1.2.3.4", "Kim"); v.Delay != d*time.Millisecond || v.Locked {
			t.Errorf("attempt %d: got %+v; want delay %dms", i, v, d)
		}
		th.Fail("1.2.3.4", "kim")
	}
	v := th.Check("1.2.3.4", "other")
	if !v.Locked || v.RetryAfter != 10*time.Minute {
		t.Errorf("after 5 failures the address is locked: %+v", v)
	}
	// Another address for the same user is slowed (user count 5) but not locked.
	if v := th.Check("5.6.7.8", "KIM"); v.Locked || v.Delay != 400*time.Millisecond {
		t.Errorf("other address, same user: %+v", v)
	}
	for i := 0; i < 3; i++ {
		th.Fail("5.6.7.8", "kim")
	}
	if v := th.Check("9.9.9.9", "kim"); !v.Locked {
		t.Errorf("user locked after 8 failures: %+v", v)
	}
	now = now.Add(11 * time.Minute)
	if v := th.Check("1.2.3.4", "kim"); v.Locked || v.Delay != 0 {
		t.Errorf("after the lock and window passed: %+v", v)
	}
	th.Fail("1.2.3.4", "x")
	th.Fail("1.2.3.4", "x")
	th.Fail("1.2.3.4", "x")
	th.Succeed("1.2.3.4", "x")
	if v := th.Check("1.2.3.4", "x"); v.Delay != 0 {
		t.Errorf("success resets: %+v", v)
	}
	off := NewThrottle(ThrottleOptions{Disabled: true})
	for i := 0; i < 100; i++ {
		off.Fail("a", "b")
	}
	if v := off.Check("a", "b"); v != (Verdict{}) {
		t.Errorf("disabled throttle: %+v", v)
	}
}
