package imap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"sync"
)

// smallBufSize is the read buffer every connection owns. A connection that
// waits for its next command holds only this; short commands ("a1 NOOP",
// "DONE") fit in it, longer input moves to a pooled buffer.
const smallBufSize = 64

// bigBufSize is the size of pooled read buffers.
const bigBufSize = 16 << 10

// bufPools are the buffers connections borrow while they work.
type bufPools struct {
	read    sync.Pool // *[bigBufSize]byte
	line    sync.Pool // *[]byte with cap MaxLineLength
	chunk   sync.Pool // *[]byte of chunkSize, for copying bodies
	writers sync.Pool // *bufio.Writer
	// deflaters are the compressors of COMPRESS sessions, borrowed for a
	// burst of responses like writers (compress.go); compressing holds a
	// slot, so that at most cap(compressing) of them (1.2 MB each) exist
	// at once.
	deflaters   sync.Pool // *flate.Writer
	compressing chan struct{}
	lineCap     int
}

const chunkSize = 32 << 10

func (p *bufPools) init(maxLine, maxCompressors int) {
	p.lineCap = maxLine
	p.compressing = make(chan struct{}, maxCompressors)
	p.read.New = func() any { return new([bigBufSize]byte) }
	p.line.New = func() any {
		b := make([]byte, 0, maxLine+2)
		return &b
	}
	p.chunk.New = func() any {
		b := make([]byte, chunkSize)
		return &b
	}
	p.writers.New = func() any { return bufio.NewWriterSize(nil, 8<<10) }
	p.deflaters.New = func() any {
		fw, err := flate.NewWriter(nil, deflateLevel)
		if err != nil {
			panic(err) // only for an invalid level
		}
		return fw
	}
}

// reader reads command lines and literals from a connection. It keeps
// unread input in small until more room is needed.
type reader struct {
	src   io.Reader
	pools *bufPools
	small [smallBufSize]byte
	big   *[bigBufSize]byte
	buf   []byte // small[:] or big[:]
	r, w  int
	// stream keeps the big buffer while reads fill it, instead of going
	// back to 64-byte reads whenever the buffer is drained: set for the
	// compressed input of COMPRESS, which the inflater reads byte by byte.
	stream bool
	full   bool // the last read filled the buffer
}

func (rd *reader) init(src io.Reader, pools *bufPools) {
	rd.src = src
	rd.pools = pools
	rd.buf = rd.small[:]
}

// buffered returns how many bytes are read but not consumed.
func (rd *reader) buffered() int { return rd.w - rd.r }

// reset drops buffered input and reads from src from now on (STARTTLS:
// plaintext pipelined after the command must never count, RFC 9051 §6.2.1).
func (rd *reader) reset(src io.Reader) {
	rd.src = src
	rd.r, rd.w = 0, 0
	rd.release()
}

// release returns the big buffer to the pool when nothing is buffered.
func (rd *reader) release() {
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
		rd.full = false
		if rd.big != nil {
			rd.pools.read.Put(rd.big)
			rd.big = nil
			rd.buf = rd.small[:]
		}
	}
}

// fill reads more input, moving to a big buffer when the small one is full.
func (rd *reader) fill() error {
	if rd.r == rd.w {
		if rd.stream && rd.full {
			rd.r, rd.w = 0, 0
		} else {
			rd.release()
		}
	} else if rd.r > 0 {
		copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.w -= rd.r
		rd.r = 0
	}
	if (rd.w == len(rd.buf) || rd.stream && rd.full) && rd.big == nil {
		rd.big = rd.pools.read.Get().(*[bigBufSize]byte)
		copy(rd.big[:], rd.buf[:rd.w])
		rd.buf = rd.big[:]
	}
	n, err := rd.src.Read(rd.buf[rd.w:])
	rd.w += n
	rd.full = rd.w == len(rd.buf)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// wait blocks until input is available.
func (rd *reader) wait() error {
	for rd.r == rd.w {
		if err := rd.fill(); err != nil {
			return err
		}
	}
	return nil
}

// maxTail is how much of the end of an over-long line is kept, enough to
// see a literal announcement ("{4294967295+}").
const maxTail = 32

// readLine reads one line into dst (without the line break; a bare LF is
// accepted as one) and returns it. A line longer than max is read to its
// end: dst keeps its first max bytes, tail its last maxTail bytes, and
// tooLong is set.
func (rd *reader) readLine(dst []byte, max int) (line, tail []byte, tooLong bool, err error) {
	dst = dst[:0]
	var tailBuf []byte
	for {
		if rd.r == rd.w {
			if err := rd.fill(); err != nil {
				return dst, nil, tooLong, err
			}
		}
		chunk := rd.buf[rd.r:rd.w]
		i := bytes.IndexByte(chunk, '\n')
		end := len(chunk)
		if i >= 0 {
			end = i
		}
		part := chunk[:end]
		if !tooLong && len(dst)+len(part) > max+1 { // +1: a CR before the LF
			tooLong = true
		}
		if !tooLong {
			dst = append(dst, part...)
		} else {
			if room := max - len(dst); room > 0 {
				dst = append(dst, part[:min(room, len(part))]...)
			}
			tailBuf = append(tailBuf, part...)
			if len(tailBuf) > maxTail {
				tailBuf = append(tailBuf[:0], tailBuf[len(tailBuf)-maxTail:]...)
			}
		}
		if i >= 0 {
			rd.r += i + 1
			break
		}
		rd.r = rd.w
	}
	if tooLong {
		tailBuf = bytes.TrimSuffix(tailBuf, []byte{'\r'})
		return dst, tailBuf, true, nil
	}
	dst = bytes.TrimSuffix(dst, []byte{'\r'})
	return dst, dst, false, nil
}

// shrink moves what is buffered back into the small buffer when it fits,
// and returns the big one.
func (rd *reader) shrink() {
	if rd.big == nil || rd.w-rd.r > smallBufSize {
		return
	}
	n := copy(rd.small[:], rd.buf[rd.r:rd.w])
	rd.r, rd.w = 0, n
	rd.pools.read.Put(rd.big)
	rd.big = nil
	rd.buf = rd.small[:]
	rd.full = false
}

// moveTo hands what is buffered to dst, which reads from the same
// connection underneath (COMPRESS: bytes after the command are compressed).
func (rd *reader) moveTo(dst *reader) {
	for rd.r < rd.w {
		if dst.w == len(dst.buf) {
			if dst.big != nil {
				return // cannot happen: rd holds at most bigBufSize
			}
			dst.big = dst.pools.read.Get().(*[bigBufSize]byte)
			copy(dst.big[:], dst.buf[:dst.w])
			dst.buf = dst.big[:]
		}
		n := copy(dst.buf[dst.w:], rd.buf[rd.r:rd.w])
		dst.w += n
		rd.r += n
	}
}

// ReadByte makes the reader an io.ByteReader, for the inflater.
func (rd *reader) ReadByte() (byte, error) {
	if rd.r == rd.w {
		if err := rd.fill(); err != nil {
			return 0, err
		}
	}
	b := rd.buf[rd.r]
	rd.r++
	return b, nil
}

// Read makes the reader an io.Reader, for the inflater.
func (rd *reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if rd.r == rd.w {
		if err := rd.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, rd.buf[rd.r:rd.w])
	rd.r += n
	return n, nil
}

// readFull reads exactly len(p) bytes.
func (rd *reader) readFull(p []byte) error {
	for len(p) > 0 {
		if rd.r == rd.w {
			// Large reads bypass the buffer.
			if len(p) >= bigBufSize {
				n, err := io.ReadFull(rd.src, p)
				if err != nil {
					return err
				}
				p = p[n:]
				continue
			}
			if err := rd.fill(); err != nil {
				return err
			}
		}
		n := copy(p, rd.buf[rd.r:rd.w])
		rd.r += n
		p = p[n:]
	}
	return nil
}

// discard reads and drops n bytes.
func (rd *reader) discard(n int64) error {
	for n > 0 {
		if rd.r == rd.w {
			if err := rd.fill(); err != nil {
				return err
			}
		}
		k := min(int64(rd.w-rd.r), n)
		rd.r += int(k)
		n -= k
	}
	return nil
}
