-- Leases: named locks with an expiry that every node sees (the POP3
-- maildrop lock, RFC 1939 §8). A crashed node's lease lapses by itself.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires INTEGER NOT NULL
)
;
