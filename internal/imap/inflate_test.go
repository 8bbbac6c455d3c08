package imap

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// errDry is what the test input returns when it has nothing more: the
// inflater must have returned the flushed data before asking for more.
var errDry = errors.New("no more input yet")

type dryReader struct{ bytes.Buffer }

func (r *dryReader) ReadByte() (byte, error) {
	b, err := r.Buffer.ReadByte()
	if err == io.EOF {
		return 0, errDry
	}
	return b, err
}

// TestInflater compresses chunks with compress/flate at several levels,
// flushing after each as a client does after a command, and checks that
// the inflater returns each chunk whole without reading past the flush.
func TestInflater(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
		var in dryReader
		fw, _ := flate.NewWriter(&in, level)
		z := newInflater(&in)
		var history []byte
		for i := range 200 {
			// Short commands, repetitive text, random bytes, and
			// chunks that reach far back into the window.
			var chunk []byte
			switch i % 4 {
			case 0:
				chunk = []byte("a1 NOOP\r\n")
			case 1:
				chunk = bytes.Repeat([]byte("x"), rnd.IntN(70000))
			case 2:
				chunk = make([]byte, rnd.IntN(40000))
				for j := range chunk {
					chunk[j] = byte(rnd.IntN(256))
				}
			case 3:
				if len(history) > 0 {
					off := rnd.IntN(len(history))
					chunk = append([]byte(nil), history[off:min(len(history), off+rnd.IntN(5000))]...)
				}
			}
			history = append(history, chunk...)
			if len(history) > 100000 {
				history = history[len(history)-100000:]
			}
			fw.Write(chunk)
			fw.Flush()
			got := make([]byte, 0, len(chunk))
			buf := make([]byte, 1+rnd.IntN(20000))
			for len(got) < len(chunk) {
				n, err := z.Read(buf)
				if err != nil {
					t.Fatalf("level %d, chunk %d: after %d of %d bytes: %v", level, i, len(got), len(chunk), err)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, chunk) {
				t.Fatalf("level %d, chunk %d: got %d bytes, differing; want %d", level, i, len(got), len(chunk))
			}
		}
		fw.Close()
		if n, err := z.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("level %d: after the final block: %d, %v; want 0, EOF", level, n, err)
		}
	}
}

// TestInflaterPartialFlush decodes what zlib sends for "a1 NOOP\r\n" with
// Z_PARTIAL_FLUSH (the data block, then an empty fixed block), as isync
// does: the command must come out before the next block begins.
func TestInflaterPartialFlush(t *testing.T) {
	// A fixed-code block with the command, then an empty fixed block
	// (header 010, end of block 0000000), written by hand.
	var bw bitWriter
	bw.fixedBlock([]byte("a1 NOOP\r\n"))
	bw.fixedBlock(nil)
	in := &dryReader{}
	in.Write(bw.bytes())
	z := newInflater(in)
	buf := make([]byte, 100)
	n, err := z.Read(buf)
	if err != nil || string(buf[:n]) != "a1 NOOP\r\n" {
		t.Fatalf("got %q, %v; want the command", buf[:n], err)
	}
	if n, err := z.Read(buf); n != 0 || err != errDry {
		t.Fatalf("then %q, %v; want to wait for more", buf[:n], err)
	}
}

// bitWriter writes fixed-code deflate blocks of literals (RFC 1951
// §3.2.6), to build inputs compress/flate does not produce.
type bitWriter struct {
	out   []byte
	acc   uint32
	nbits uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.bits(c>>uint(i)&1, 1)
	}
}

func (w *bitWriter) fixedBlock(lits []byte) {
	w.bits(0, 1) // not final
	w.bits(1, 2) // fixed codes
	for _, b := range lits {
		if b < 144 {
			w.code(0x30+uint32(b), 8)
		} else {
			w.code(0x190+uint32(b)-144, 9)
		}
	}
	w.code(0, 7) // end of block
}

func (w *bitWriter) bytes() []byte {
	out := w.out
	if w.nbits > 0 {
		out = append(out, byte(w.acc))
	}
	return out
}

// TestInflaterCorrupt: bad input is an error, never a panic.
func TestInflaterCorrupt(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		in := &dryReader{}
		b := make([]byte, rnd.IntN(200))
		for j := range b {
			b[j] = byte(rnd.IntN(256))
		}
		in.Write(b)
		z := newInflater(in)
		buf := make([]byte, 64)
		for range 1000 {
			if _, err := z.Read(buf); err != nil {
				break
			}
		}
	}
	in := &dryReader{}
	in.Write([]byte{0x07}) // block type 3
	if _, err := newInflater(in).Read(make([]byte, 8)); !errors.Is(err, errCorruptDeflate) {
		t.Errorf("reserved block type: %v; want errCorruptDeflate", err)
	}
}
