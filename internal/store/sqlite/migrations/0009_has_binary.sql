-- messages.has_binary: the message has a part with binary content (RFC
-- 3516: labelled binary, or holding NUL), which IMAP presents base64-encoded
-- in BODY[] and RFC822.SIZE. Kept on the row so that the common FETCH of
-- RFC822.SIZE knows without reading the message's parse. Messages stored
-- before could not hold such parts whole (BINARY APPEND kept them only
-- since this version), so they start as false.
ALTER TABLE messages ADD COLUMN has_binary INTEGER NOT NULL DEFAULT 0
