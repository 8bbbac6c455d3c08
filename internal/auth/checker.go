package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Checker verifies passwords against stored hashes, with a cache of recent
// successes and a bound on how many hashes run at once (each holds Memory
// KiB).
//
// The cache key is an HMAC, under a per-process secret, of the stored hash
// and the password; so the cache holds no password, and a password change
// (which changes the stored hash) invalidates it on every node without any
// message. Only successes are cached; a wrong password always pays the full
// hash, so timing does not tell a cached user from another.
type Checker struct {
	params Params
	ttl    time.Duration
	max    int
	secret [32]byte
	sem    chan struct{}
	dummy  string

	mu    sync.Mutex
	cache map[[32]byte]cacheEntry
}

type cacheEntry struct {
	expires time.Time
	owner   int64
}

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	Params Params
	// CacheTTL is how long a verified credential is served from memory;
	// 0 turns the cache off.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached credentials.
	CacheSize int
	// Concurrency bounds simultaneous hash computations.
	Concurrency int
}

// NewChecker returns a Checker.
func NewChecker(o CheckerOptions) *Checker {
	if o.Params.Memory == 0 {
		o.Params = DefaultParams
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 100_000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	c := &Checker{params: o.Params, ttl: o.CacheTTL, max: o.CacheSize, sem: make(chan struct{}, o.Concurrency),
		cache: map[[32]byte]cacheEntry{}}
	rand.Read(c.secret[:])
	var pw [16]byte
	rand.Read(pw[:])
	c.dummy, _ = Hash(string(pw[:]), o.Params)
	return c
}

// Hash hashes a new password with the checker's parameters, after
// PreparePassword.
func (c *Checker) Hash(password string) (string, error) {
	password, err := PreparePassword(password)
	if err != nil {
		return "", err
	}
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	return Hash(password, c.params)
}

func (c *Checker) key(hash, password string) [32]byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write([]byte(hash))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// Check reports whether password matches hash. owner identifies the
// mailbox, so that Forget can drop its entries. An empty hash (unknown
// user) is checked against a dummy hash, so that it costs the same.
//
// The password is prepared first (PreparePassword), as at every password
// set. A hash made before passwords were prepared was made from the
// password as typed: when preparing changes the password (only a non-ASCII
// one), the password as typed is tried too, so that such a mailbox keeps
// signing in until its next password set.
func (c *Checker) Check(owner int64, hash, password string) bool {
	prepared, err := PreparePassword(password)
	if err != nil {
		prepared = password
	}
	if c.check(owner, hash, prepared) {
		return true
	}
	return prepared != password && hash != "" && c.check(owner, hash, password)
}

func (c *Checker) check(owner int64, hash, password string) bool {
	if hash == "" {
		c.verify(c.dummy, password)
		return false
	}
	var k [32]byte
	if c.ttl > 0 {
		k = c.key(hash, password)
		c.mu.Lock()
		e, ok := c.cache[k]
		c.mu.Unlock()
		if ok && time.Now().Before(e.expires) {
			return true
		}
	}
	if !c.verify(hash, password) {
		return false
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.cache) >= c.max {
			c.evictLocked()
		}
		c.cache[k] = cacheEntry{expires: time.Now().Add(c.ttl), owner: owner}
		c.mu.Unlock()
	}
	return true
}

func (c *Checker) verify(hash, password string) bool {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	ok, err := Verify(hash, password)
	return ok && err == nil
}

// evictLocked drops expired entries, and if none were, an arbitrary tenth.
func (c *Checker) evictLocked() {
	now := time.Now()
	for k, e := range c.cache {
		if now.After(e.expires) {
			delete(c.cache, k)
		}
	}
	n := c.max / 10
	for k := range c.cache {
		if len(c.cache) < c.max || n <= 0 {
			break
		}
		delete(c.cache, k)
		n--
	}
}

// Forget drops every cached credential of a mailbox (password changed,
// mailbox removed).
func (c *Checker) Forget(owner int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.cache {
		if e.owner == owner {
			delete(c.cache, k)
		}
	}
}

// Credentials hashes a new password (argon2id) and derives its SCRAM-SHA-256
// keys (RFC 5803 form), the two stored values of a password set, both from
// the prepared password (PreparePassword; RFC 5802 §2.2 Normalize).
func (c *Checker) Credentials(password string) (hash, scram string, err error) {
	if password, err = PreparePassword(password); err != nil {
		return "", "", err
	}
	if hash, err = c.Hash(password); err != nil {
		return "", "", err
	}
	keys, err := NewSCRAMKeys(password)
	if err != nil {
		return "", "", err
	}
	return hash, keys.String(), nil
}
