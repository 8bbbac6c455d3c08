package imap

import (
	"compress/flate"
	"context"
	"io"
)

// COMPRESS=DEFLATE (RFC 4978).
//
// After the tagged OK both directions are raw deflate streams (RFC 1951, no
// zlib header, RFC 4978 §3, §4). The cost of a session is kept to its
// inflater:
//
//   - The client's stream may refer back 32 KiB, so the inflater (about
//     33 KB with its window, inflate.go) lives as long as the session:
//     BenchmarkIdleMemory/compressed measures about 38 KB of heap per idle
//     session, against 3 KB without COMPRESS.
//   - The compressor does not: a flate.Writer costs about 1.2 MB at
//     BestSpeed (the hash tables are arrays inside it, whatever the level).
//     The connection borrows one from a pool for each burst of responses,
//     like its bufio.Writer, and ends the burst with Flush (Z_SYNC_FLUSH:
//     byte-aligned, everything sent, so the client is never left waiting)
//     before giving it back. A raw deflate stream has no header and is just
//     a sequence of blocks, so a freshly Reset writer continues it: its
//     blocks refer to nothing before the burst, which the client's inflater
//     accepts. The price is that one burst's redundancy with earlier ones is
//     not exploited.
//   - BestSpeed: IMAP responses compress well at any level, and its Reset
//     is cheap (the default level clears 640 KB of hash tables per Reset).
//
// Timeouts: a read error is final for the inflater, so the short wait of
// conn.burstWait must not go through it; see (*compression).probe. A
// session writing to a client that does not read holds its compressor
// (1.2 MB) until its write deadline, so at most Options.MaxCompressors
// (128) are out at once; a burst that finds none free goes out in stored
// (uncompressed) deflate blocks, which need no compressor
// (TestCompressorsCapped).

// deflateLevel is the level of the pooled compressors.
const deflateLevel = flate.BestSpeed

// compression is the state of a connection after COMPRESS DEFLATE.
type compression struct {
	// raw buffers the compressed input read from the network; the
	// inflater reads it byte by byte.
	raw     reader
	inflate *inflater
}

// syncMarkerLen is the longest input that a client's flush can leave
// unread after a command: the empty stored block of Z_SYNC_FLUSH (up to one
// byte with its header bits, then 00 00 FF FF), or the 10-bit empty fixed
// block of Z_PARTIAL_FLUSH.
const syncMarkerLen = 5

// probe waits for compressed input until the read deadline, below the
// inflater, so that a timeout does not break it. It reports (nil) when more
// than the end of a flush is there (the end of a flush may come in a
// packet or TLS record of its own).
func (z *compression) probe() error {
	for z.raw.buffered() <= syncMarkerLen {
		if err := z.raw.fill(); err != nil {
			return err
		}
	}
	return nil
}

// release gives back what an idle connection need not hold.
func (z *compression) release() {
	z.raw.shrink()
}

// close drops the buffers when the connection ends.
func (z *compression) close() {
	z.raw.r, z.raw.w = 0, 0
	z.raw.release()
}

// COMPRESS (RFC 4978 §3): valid once authenticated (command-auth). The
// server compresses from the byte after the CRLF of the tagged OK, and
// reads compressed input from the next command on.
func cmdCompress(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	mech, err := p.keyword()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	if mech != "DEFLATE" {
		return bad("Unknown compression mechanism %s", truncate(mech, 40))
	}
	if c.z != nil {
		return no(CodeCompressionActive, "DEFLATE compression is already active")
	}
	c.w.raw(r.tag + " OK DEFLATE active\r\n")
	c.w.flush()
	if c.w.err != nil {
		return errClose
	}
	z := &compression{}
	z.raw.init(c.nc, &c.srv.bufs)
	z.raw.stream = true
	// A client must wait for the OK (§3); what it sent anyway is already
	// compressed.
	c.rd.moveTo(&z.raw)
	z.inflate = newInflater(&z.raw)
	c.rd.reset(z.inflate)
	c.z = z
	d := c.srv.bufs.deflater(c.nc)
	c.w.z = d
	c.w.bw.Reset(d)
	return errResponded
}

// deflater returns the compressor of a burst into w: a pooled one while
// fewer than cap(compressing) are out, else one that writes stored
// (uncompressed) deflate blocks, which costs no memory. Either continues
// the session's stream, since every burst starts byte-aligned and refers
// to nothing before it. So a flood of sessions whose clients do not read
// costs at most cap(compressing) compressors.
func (p *bufPools) deflater(w io.Writer) *deflater {
	d := &deflater{w: w}
	select {
	case p.compressing <- struct{}{}:
		d.fw = p.deflaters.Get().(*flate.Writer)
		d.fw.Reset(w)
	default:
	}
	return d
}

// putDeflater gives back a burst's compressor, flushed by the caller.
func (p *bufPools) putDeflater(d *deflater) {
	if d.fw == nil {
		return
	}
	d.fw.Reset(nil)
	p.deflaters.Put(d.fw)
	d.fw = nil
	<-p.compressing
}

// deflater is a pooled compressor. It remembers whether anything was
// written since its last flush, so that a burst without responses sends
// nothing: an empty flush right after the tagged OK of COMPRESS would
// arrive with it, and a client that reads the OK in the same read (isync)
// takes those bytes for a line of its own.
type deflater struct {
	fw    *flate.Writer // nil: stored blocks straight to w
	w     io.Writer
	dirty bool
}

// maxStored is the most a stored deflate block holds (RFC 1951 §3.2.4).
const maxStored = 65535

func (d *deflater) Write(p []byte) (int, error) {
	if len(p) > 0 {
		d.dirty = true
	}
	if d.fw != nil {
		return d.fw.Write(p)
	}
	// Stored blocks: a header byte (BFINAL 0, BTYPE 00, padding; the
	// stream is byte-aligned), LEN and NLEN little-endian, the octets.
	n := 0
	for len(p) > 0 {
		k := min(len(p), maxStored)
		hdr := [5]byte{0, byte(k), byte(k >> 8), ^byte(k), ^byte(k >> 8)}
		if _, err := d.w.Write(hdr[:]); err != nil {
			return n, err
		}
		if _, err := d.w.Write(p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// syncMarker is the empty stored block that ends a Z_SYNC_FLUSH.
var syncMarker = []byte{0, 0, 0, 0xff, 0xff}

// Flush sends everything written so far (Z_SYNC_FLUSH), if anything.
// Stored blocks went out as they were written, but they too end with the
// empty stored block of a sync flush: inflaters (Go's, zlib's) hand over a
// block's data only once they see the next block begin.
func (d *deflater) Flush() error {
	if !d.dirty {
		return nil
	}
	d.dirty = false
	if d.fw == nil {
		_, err := d.w.Write(syncMarker)
		return err
	}
	return d.fw.Flush()
}
