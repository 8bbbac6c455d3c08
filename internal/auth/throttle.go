package auth

import (
	"strings"
	"sync"
	"time"
)

// ThrottleOptions configure brute-force throttling. Failures are counted per
// remote address and per user name over Window; past Free failures every
// answer is delayed, doubling from BaseDelay up to MaxDelay; past LockAfter
// (per address) or LockUserAfter (per user) failures, logins are refused
// for LockFor. A success resets the address's and the user's counts.
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
}

func (t *Throttle) get(m map[string]*failures, k string, now time.Time) *failures {
	f := m[k]
	if f != nil && now.Sub(f.first) > t.o.Window && now.After(f.lockedUntil) {
		delete(m, k)
		f = nil
	}
	return f
}

// Check says whether an attempt from addr for user may proceed.
func (t *Throttle) Check(addr, user string) Verdict {
	if t.o.Disabled {
		return Verdict{}
	}
	user = strings.ToLower(user)
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
		}
		if f.n >= t.o.Free {
			d := t.o.BaseDelay << min(f.n-t.o.Free, 16)
			v.Delay = max(v.Delay, min(d, t.o.MaxDelay))
		}
	}
	return v
}

// Fail records a failed attempt.
func (t *Throttle) Fail(addr, user string) {
	if t.o.Disabled {
		return
	}
	user = strings.ToLower(user)
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

// Succeed clears the failures of addr and user.
func (t *Throttle) Succeed(addr, user string) {
	if t.o.Disabled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.addrs, addr)
	delete(t.users, strings.ToLower(user))
}
