package imap

import (
	"errors"
	"io"
)

// inflater decodes the client's raw deflate stream (RFC 1951) after
// COMPRESS. compress/flate's reader is not used: it hands out decoded data
// only when its window fills, at a stored block or at the final block, so
// a client that ends each command with Z_PARTIAL_FLUSH (an empty fixed
// block, as isync/mbsync does) would wait for an answer forever. RFC 4978
// §4 leaves the choice of flush to the sender; this decoder returns what
// it has at the end of every block. It is a plain bit-at-a-time decoder
// (after Mark Adler's puff): clients send short commands and the odd
// APPEND, so simplicity beats speed here, and its state is small (the
// 32 KiB window and two code tables).
type inflater struct {
	src   io.ByteReader
	bits  uint32
	nbits uint
	err   error

	state  inflateState
	final  bool  // the current block is the last
	stored int   // bytes left in a stored block
	length int   // bytes left to copy from the window
	dist   int   // distance of that copy
	total  int64 // bytes decoded, to check distances
	wpos   int   // next write position in window
	lit    huffman
	dst    huffman
	// window is allocated on its own: 32 KiB is a size class, the struct
	// with it inline would round up to 40 KiB.
	window *[1 << 15]byte
}

type inflateState uint8

const (
	inflateHeader inflateState = iota
	inflateStored
	inflateCodes
	inflateCopy
)

var errCorruptDeflate = errors.New("corrupt deflate stream")

func newInflater(src io.ByteReader) *inflater {
	return &inflater{src: src, window: new([1 << 15]byte)}
}

// Read decodes into p. It returns at the end of a block when it has
// something, before reading further input that may not come yet.
func (z *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if z.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, z.err
		}
		switch z.state {
		case inflateHeader:
			if n > 0 {
				return n, nil
			}
			if z.final {
				z.err = io.EOF
				continue
			}
			z.header()
		case inflateStored:
			if z.stored == 0 {
				z.state = inflateHeader
				continue
			}
			if !z.need(8) {
				continue
			}
			z.emit(p, &n, byte(z.take(8)))
			z.stored--
		case inflateCopy:
			z.emit(p, &n, z.window[(z.wpos-z.dist)&(len(z.window)-1)])
			if z.length--; z.length == 0 {
				z.state = inflateCodes
			}
		case inflateCodes:
			z.symbol(p, &n)
		}
	}
	return n, nil
}

func (z *inflater) emit(p []byte, n *int, b byte) {
	p[*n] = b
	*n++
	z.window[z.wpos&(len(z.window)-1)] = b
	z.wpos++
	z.total++
}

// need makes n bits available; it reports false (with z.err set) when the
// input fails.
func (z *inflater) need(n uint) bool {
	for z.nbits < n {
		b, err := z.src.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			z.err = err
			return false
		}
		z.bits |= uint32(b) << z.nbits
		z.nbits += 8
	}
	return true
}

func (z *inflater) take(n uint) int {
	v := z.bits & (1<<n - 1)
	z.bits >>= n
	z.nbits -= n
	return int(v)
}

// header reads a block header (RFC 1951 §3.2.3) and what precedes the
// block's data.
func (z *inflater) header() {
	if !z.need(3) {
		return
	}
	z.final = z.take(1) == 1
	switch z.take(2) {
	case 0: // stored (§3.2.4)
		z.take(z.nbits % 8)
		if !z.need(32) {
			return
		}
		n, nn := z.take(16), z.take(16)
		if n != ^nn&0xffff {
			z.err = errCorruptDeflate
			return
		}
		z.stored, z.state = n, inflateStored
	case 1: // fixed codes (§3.2.6)
		z.lit.build(fixedLitLengths[:])
		z.dst.build(fixedDistLengths[:])
		z.state = inflateCodes
	case 2: // dynamic codes (§3.2.7)
		if z.dynamic() {
			z.state = inflateCodes
		}
	default:
		z.err = errCorruptDeflate
	}
}

var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

var fixedLitLengths, fixedDistLengths = func() (lit [288]uint8, dist [30]uint8) {
	for i := range lit {
		switch {
		case i < 144:
			lit[i] = 8
		case i < 256:
			lit[i] = 9
		case i < 280:
			lit[i] = 7
		default:
			lit[i] = 8
		}
	}
	for i := range dist {
		dist[i] = 5
	}
	return
}()

// dynamic reads the code tables of a dynamic block.
func (z *inflater) dynamic() bool {
	if !z.need(14) {
		return false
	}
	nlen, ndist, ncode := z.take(5)+257, z.take(5)+1, z.take(4)+4
	if nlen > 286 || ndist > 30 {
		z.err = errCorruptDeflate
		return false
	}
	var lengths [286 + 30]uint8
	for i := 0; i < ncode; i++ {
		if !z.need(3) {
			return false
		}
		lengths[codeLengthOrder[i]] = uint8(z.take(3))
	}
	var lencode huffman
	if !lencode.build(lengths[:19]) {
		z.err = errCorruptDeflate
		return false
	}
	clear(lengths[:19])
	for i := 0; i < nlen+ndist; {
		sym, ok := z.decode(&lencode)
		if !ok {
			return false
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var v uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				z.err = errCorruptDeflate
				return false
			}
			v = lengths[i-1]
			if !z.need(2) {
				return false
			}
			rep = 3 + z.take(2)
		case 17:
			if !z.need(3) {
				return false
			}
			rep = 3 + z.take(3)
		default:
			if !z.need(7) {
				return false
			}
			rep = 11 + z.take(7)
		}
		if i+rep > nlen+ndist {
			z.err = errCorruptDeflate
			return false
		}
		for ; rep > 0; rep-- {
			lengths[i] = v
			i++
		}
	}
	if lengths[256] == 0 || !z.lit.build(lengths[:nlen]) || !z.dst.build(lengths[nlen:nlen+ndist]) {
		z.err = errCorruptDeflate
		return false
	}
	return true
}

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// symbol decodes one literal/length symbol and, for a length, its
// distance (§3.2.5).
func (z *inflater) symbol(p []byte, n *int) {
	sym, ok := z.decode(&z.lit)
	if !ok {
		return
	}
	switch {
	case sym < 256:
		z.emit(p, n, byte(sym))
		return
	case sym == 256:
		z.state = inflateHeader
		return
	}
	sym -= 257
	if sym >= len(lengthBase) {
		z.err = errCorruptDeflate
		return
	}
	if !z.need(uint(lengthExtra[sym])) {
		return
	}
	length := int(lengthBase[sym]) + z.take(uint(lengthExtra[sym]))
	d, ok := z.decode(&z.dst)
	if !ok {
		return
	}
	if d >= len(distBase) {
		z.err = errCorruptDeflate
		return
	}
	if !z.need(uint(distExtra[d])) {
		return
	}
	dist := int(distBase[d]) + z.take(uint(distExtra[d]))
	if int64(dist) > z.total {
		z.err = errCorruptDeflate
		return
	}
	z.length, z.dist, z.state = length, dist, inflateCopy
}

// huffman is a canonical Huffman code by counts of codes per length and
// symbols in code order (§3.2.2).
type huffman struct {
	count  [16]uint16
	symbol [288]uint16
}

// build makes the code for the given code lengths; it reports false for an
// over-subscribed set (an incomplete one is allowed, RFC 1951 permits a
// single distance code).
func (h *huffman) build(lengths []uint8) bool {
	clear(h.count[:])
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return false
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return true
}

// decode reads one symbol of h, a bit at a time.
func (z *inflater) decode(h *huffman) (int, bool) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		if !z.need(1) {
			return 0, false
		}
		code |= z.take(1)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), true
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	z.err = errCorruptDeflate
	return 0, false
}
