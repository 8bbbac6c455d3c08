package auth

import (
	"sync"
	"time"
)

// ThrottleOptions configure brute-force throttling. Failures are counted per
// remote address and per user over Window; past Free failures every answer
// is delayed, doubling from BaseDelay up to MaxDelay; past LockAfter (per
// address) or LockUserAfter (per user) failures, logins are refused for
// LockFor. A success resets that user's count only: the address's count
// stays, so that good logins of one user do not hide guesses at others from
// the same address.
//
// One Throttle serves every protocol and the admin sign-in, so that
// guesses spread over IMAP4, POP3 and the admin center add up. Callers key
// the user with UserKey (the resolved mailbox) and the address with the
// client's address; Check, Fail and Succeed apply AddrKey to it.
type ThrottleOptions struct {
	Disabled      bool
	Window        time.Duration
	Free          int
	BaseDelay     time.Duration
	MaxDelay      time.Duration
	LockAfter     int
	LockUserAfter int
	LockFor       time.Duration
}

// DefaultThrottle is the default policy. The per-user lock is higher than
// the per-address one so that an attacker from one address cannot lock a
// user out before his own address is locked.
var DefaultThrottle = ThrottleOptions{
	Window: 15 * time.Minute, Free: 3, BaseDelay: 250 * time.Millisecond, MaxDelay: 4 * time.Second,
	LockAfter: 20, LockUserAfter: 50, LockFor: 15 * time.Minute,
}

// Throttle tracks failed logins.
type Throttle struct {
	o   ThrottleOptions
	now func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
	users map[string]*failures
}

type failures struct {
	n           int
	first       time.Time
	lockedUntil time.Time
	refused     int // attempts refused during the current lock
}

// NewThrottle returns a throttle with the given policy.
func NewThrottle(o ThrottleOptions) *Throttle {
	return &Throttle{o: o, now: time.Now, addrs: map[string]*failures{}, users: map[string]*failures{}}
}

// Verdict is what the throttle says about one attempt.
type Verdict struct {
	// Locked refuses the attempt until RetryAfter has passed.
	Locked     bool
	RetryAfter time.Duration
	// Delay is how long to wait before answering.
	Delay time.Duration
	// Refused counts the attempts refused during this lock, this one
	// included (the most of the address's and the user's). A caller keeps a
	// record of the first and only counts the others, so that an attacker
	// who goes on knocking at a lock costs no storage.
	Refused int
}

func (t *Throttle) get(m map[string]*failures, k string, now time.Time) *failures {
	f := m[k]
	if f != nil && now.Sub(f.first) > t.o.Window && now.After(f.lockedUntil) {
		delete(m, k)
		f = nil
	}
	return f
}

// Check says whether an attempt from addr for user (a UserKey) may
// proceed. A refused attempt is counted in the lock it met.
func (t *Throttle) Check(addr, user string) Verdict {
	if t.o.Disabled {
		return Verdict{}
	}
	addr = AddrKey(addr)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var v Verdict
	for _, f := range []*failures{t.get(t.addrs, addr, now), t.get(t.users, user, now)} {
		if f == nil {
			continue
		}
		if now.Before(f.lockedUntil) {
			v.Locked = true
			v.RetryAfter = max(v.RetryAfter, f.lockedUntil.Sub(now))
			f.refused++
			v.Refused = max(v.Refused, f.refused)
		}
		if f.n >= t.o.Free {
			d := t.o.BaseDelay << min(f.n-t.o.Free, 16)
			v.Delay = max(v.Delay, min(d, t.o.MaxDelay))
		}
	}
	return v
}

// Fail records a failed attempt from addr for user (a UserKey).
func (t *Throttle) Fail(addr, user string) {
	if t.o.Disabled {
		return
	}
	addr = AddrKey(addr)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range []struct {
		m     map[string]*failures
		k     string
		limit int
	}{{t.addrs, addr, t.o.LockAfter}, {t.users, user, t.o.LockUserAfter}} {
		f := t.get(x.m, x.k, now)
		if f == nil {
			f = &failures{first: now}
			x.m[x.k] = f
		}
		f.n++
		if x.limit > 0 && f.n >= x.limit && now.After(f.lockedUntil) {
			f.lockedUntil = now.Add(t.o.LockFor)
			f.refused = 0
		}
	}
	// Bound memory under a flood of distinct addresses: drop what expired.
	if len(t.addrs) > 100_000 || len(t.users) > 100_000 {
		for _, m := range []map[string]*failures{t.addrs, t.users} {
			for k := range m {
				t.get(m, k, now)
			}
		}
	}
}

// Succeed clears the failures of user (a UserKey), and only those: a
// success proves nothing about the other names tried from its address. A
// user whose lock is still running stays locked.
func (t *Throttle) Succeed(user string) {
	if t.o.Disabled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.users[user]; f != nil && t.now().Before(f.lockedUntil) {
		return
	}
	delete(t.users, user)
}
