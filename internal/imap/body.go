package imap

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// maxHeaderRead bounds how much of a header HEADER.FIELDS reads.
const maxHeaderRead = 1 << 20

// byteRange is [start, end) of the stored message.
type byteRange struct{ start, end int64 }

// sectionRange finds what a BODY section addresses (RFC 9051 §6.4.5). ok is
// false when the part does not exist; headerFields is set for
// HEADER.FIELDS[.NOT], whose range is the header to filter.
func sectionRange(md *MessageData, msg *message.Message, sec *section) (r byteRange, ok bool) {
	if len(sec.part) == 0 && sec.text == "" {
		return byteRange{0, md.Size}, true
	}
	target := &msg.Root
	if len(sec.part) > 0 {
		target = msg.Part(sec.part)
		if target == nil {
			return r, false
		}
	}
	switch sec.text {
	case "":
		r = byteRange{target.BodyStart, target.End}
	case "MIME":
		r = byteRange{target.HeaderStart, target.BodyStart}
	default: // HEADER, HEADER.FIELDS[.NOT], TEXT of a message
		m := target
		if len(sec.part) > 0 {
			// Only a message/rfc822 part has a header and text of its own.
			if target.Inner == nil {
				return byteRange{}, true
			}
			m = target.Inner
		}
		if sec.text == "TEXT" {
			r = byteRange{m.BodyStart, m.End}
		} else {
			r = byteRange{m.HeaderStart, m.BodyStart}
		}
	}
	// A damaged structure must not make us read past the message.
	r.start = min(max(r.start, 0), md.Size)
	r.end = min(max(r.end, r.start), md.Size)
	return r, true
}

// applyPartial cuts <offset.count> out of a section of length n.
func applyPartial(it *fetchItem, n int64) (off, length int64) {
	if !it.partial {
		return 0, n
	}
	if it.offset >= n {
		return n, 0
	}
	return it.offset, min(it.count, n-it.offset)
}

// writeSection writes the value of a BODY[...] item.
func (c *conn) writeSection(ctx context.Context, md *MessageData, msg *message.Message, it *fetchItem) error {
	var r byteRange
	if msg == nil {
		r = byteRange{0, md.Size}
	} else {
		var ok bool
		if r, ok = sectionRange(md, msg, &it.sec); !ok {
			c.w.raw("NIL")
			return nil
		}
	}
	if strings.HasPrefix(it.sec.text, "HEADER.FIELDS") {
		hdr := make([]byte, min(r.end-r.start, maxHeaderRead))
		if err := c.readBody(ctx, md, r.start, hdr); err != nil {
			return err
		}
		out := message.FilterHeader(hdr, it.sec.fields, it.sec.text == "HEADER.FIELDS.NOT")
		off, n := applyPartial(it, int64(len(out)))
		c.w.literalHeader(n, false)
		c.w.bytes(out[off : off+n])
		return nil
	}
	off, n := applyPartial(it, r.end-r.start)
	c.w.literalHeader(n, false)
	if start := r.start + off; start+n <= int64(len(md.BodyPrefix)) {
		// Already read with the metadata: no second query.
		c.w.bytes(md.BodyPrefix[start : start+n])
		if c.w.err != nil {
			return &netError{c.w.err}
		}
		return nil
	}
	return c.copyBody(ctx, md, r.start+off, n)
}

// writeSectionSize writes BINARY.SIZE of a section with HEADER,
// HEADER.FIELDS[.NOT], TEXT or MIME: the size of what BODY[...] of the same
// section sends (nothing is decoded there); 0 for a part that does not
// exist, as for BINARY.SIZE of a missing part.
func (c *conn) writeSectionSize(ctx context.Context, md *MessageData, msg *message.Message, it *fetchItem) error {
	r, ok := sectionRange(md, msg, &it.sec)
	if !ok {
		c.w.raw("0")
		return nil
	}
	size := r.end - r.start
	if strings.HasPrefix(it.sec.text, "HEADER.FIELDS") {
		hdr := make([]byte, min(r.end-r.start, maxHeaderRead))
		if err := c.readBody(ctx, md, r.start, hdr); err != nil {
			return err
		}
		size = int64(len(message.FilterHeader(hdr, it.sec.fields, it.sec.text == "HEADER.FIELDS.NOT")))
	}
	c.w.num64(size)
	return nil
}

// copyBody streams n bytes of the stored message at off to the client,
// chunk by chunk; no lock is held between chunks.
func (c *conn) copyBody(ctx context.Context, md *MessageData, off, n int64) error {
	if n <= 0 {
		return nil
	}
	bp := c.srv.bufs.chunk.Get().(*[]byte)
	defer c.srv.bufs.chunk.Put(bp)
	buf := *bp
	for n > 0 {
		k := min(n, int64(len(buf)))
		if err := c.readBody(ctx, md, off, buf[:k]); err != nil {
			return err
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		c.w.bytes(buf[:k])
		if c.w.err != nil {
			return &netError{c.w.err}
		}
		off += k
		n -= k
	}
	return nil
}

// bodyReader reads a range of a stored message as an io.Reader.
type bodyReader struct {
	ctx context.Context
	c   *conn
	md  *MessageData
	off int64
	end int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.off >= b.end {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.end-b.off)]
	if err := b.c.readBody(b.ctx, b.md, b.off, p); err != nil {
		return 0, err
	}
	b.off += int64(len(p))
	return len(p), nil
}

// base64Filter drops what is not base64 alphabet, so that line breaks and
// junk in a damaged attachment do not stop decoding.
type base64Filter struct{ r io.Reader }

func (f base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// decoder returns a reader of the decoded content of a part (RFC 3516), or
// nil for an encoding we do not know.
func decoder(enc string, r io.Reader) io.Reader {
	switch enc {
	case "", "7bit", "8bit", "binary":
		return r
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, base64Filter{r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return nil
}

// errUnknownCTE is a BINARY item of a part whose transfer encoding we
// cannot undo; the FETCH fails with NO [UNKNOWN-CTE] (RFC 3516 §4.3).
var errUnknownCTE = errors.New("unknown content transfer encoding")

// binaryEncoding is the transfer encoding a BINARY item undoes: none for
// the whole message, a multipart or an encapsulated message, whose octets
// are sent as stored.
func binaryEncoding(target *message.Part, sec *section) string {
	if len(sec.part) == 0 || target.IsMultipart() || target.IsMessage() {
		return ""
	}
	return target.Encoding
}

// knownEncoding reports whether decoder can undo enc.
func knownEncoding(enc string) bool {
	switch enc {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return true
	}
	return false
}

// binaryRange is the part a BINARY[...] item decodes: the whole message
// without a part number; ok is false when the part does not exist.
func binaryRange(md *MessageData, msg *message.Message, sec *section) (r byteRange, ok bool) {
	if len(sec.part) == 0 {
		return byteRange{0, md.Size}, true
	}
	target := msg.Part(sec.part)
	if target == nil {
		return r, false
	}
	r = byteRange{target.BodyStart, target.End}
	r.start = min(max(r.start, 0), md.Size)
	r.end = min(max(r.end, r.start), md.Size)
	return r, true
}

// writeBinary writes the value of a BINARY[...] or BINARY.SIZE[...] item
// (RFC 3516): the part's content with its transfer encoding undone.
func (f *fetcher) writeBinary(ctx context.Context, md *MessageData, msg *message.Message, it *fetchItem) error {
	c := f.c
	if it.sec.text != "" {
		return c.writeSectionSize(ctx, md, msg, it)
	}
	target := &msg.Root
	if len(it.sec.part) > 0 {
		target = msg.Part(it.sec.part)
	}
	if target == nil {
		if it.kind == fetchBinarySize {
			c.w.raw("0")
		} else {
			c.w.raw("NIL")
		}
		return nil
	}
	r, _ := binaryRange(md, msg, &it.sec)
	enc := binaryEncoding(target, &it.sec)
	open := func() io.Reader {
		return decoder(enc, &bodyReader{ctx: ctx, c: c, md: md, off: r.start, end: r.end})
	}
	if open() == nil {
		// load refuses this before the response begins.
		return fmt.Errorf("BINARY of UID %d: %w", md.UID, errUnknownCTE)
	}
	// First pass: the decoded size, and whether it holds NUL (which needs
	// a literal8).
	var size int64
	hasNUL := false
	if enc == "" {
		size = r.end - r.start
		if r.end <= int64(len(md.BodyPrefix)) {
			// Read already (load): RFC 3516 §4.3 prefers a plain literal
			// for content without NUL.
			hasNUL = bytes.IndexByte(md.BodyPrefix[r.start:r.end], 0) >= 0
		} else {
			hasNUL = it.kind == fetchBinary // unknown without reading; literal8 is always allowed here
		}
	} else {
		bp := c.srv.bufs.chunk.Get().(*[]byte)
		dec := open()
		for {
			n, err := dec.Read(*bp)
			size += int64(n)
			if bytes.IndexByte((*bp)[:n], 0) >= 0 {
				hasNUL = true
			}
			if err != nil {
				if err != io.EOF && errors.Is(err, ErrExpunged) || isNetError(err) {
					c.srv.bufs.chunk.Put(bp)
					return err
				}
				// Undecodable data ends the content, as it will in the
				// second pass, so both agree on the size.
				break
			}
		}
		c.srv.bufs.chunk.Put(bp)
	}
	if it.kind == fetchBinarySize {
		c.w.num64(size)
		return nil
	}
	off, n := applyPartial(it, size)
	if enc == "" {
		// Raw content: scan it for NUL only when it is small.
		c.w.literalHeader(n, hasNUL)
		return c.copyBody(ctx, md, r.start+off, n)
	}
	c.w.literalHeader(n, hasNUL)
	dec := open()
	if off > 0 {
		if _, err := io.CopyN(io.Discard, dec, off); err != nil {
			return fmt.Errorf("BINARY of UID %d: %w", md.UID, err)
		}
	}
	bp := c.srv.bufs.chunk.Get().(*[]byte)
	defer c.srv.bufs.chunk.Put(bp)
	for n > 0 {
		k, err := dec.Read((*bp)[:min(n, int64(len(*bp)))])
		c.w.bytes((*bp)[:k])
		n -= int64(k)
		if c.w.err != nil {
			return &netError{c.w.err}
		}
		if err != nil {
			break
		}
	}
	if n > 0 {
		// The content decoded to less than the first pass counted: it
		// changed or went in between. The literal cannot be completed.
		return fmt.Errorf("BINARY of UID %d: content ended %d octets short of the literal", md.UID, n)
	}
	return nil
}

// writeEnvelope writes an ENVELOPE (RFC 9051 §7.5.2). Sender and Reply-To
// default to From.
func (c *conn) writeEnvelope(e *message.Envelope) {
	w := &c.w
	w.byte('(')
	w.nstring(e.Date)
	w.sp()
	w.nstring(e.Subject)
	w.sp()
	c.writeAddresses(e.From)
	w.sp()
	if len(e.Sender) > 0 {
		c.writeAddresses(e.Sender)
	} else {
		c.writeAddresses(e.From)
	}
	w.sp()
	if len(e.ReplyTo) > 0 {
		c.writeAddresses(e.ReplyTo)
	} else {
		c.writeAddresses(e.From)
	}
	w.sp()
	c.writeAddresses(e.To)
	w.sp()
	c.writeAddresses(e.Cc)
	w.sp()
	c.writeAddresses(e.Bcc)
	w.sp()
	w.nstring(e.InReplyTo)
	w.sp()
	w.nstring(e.MessageID)
	w.byte(')')
}

func (c *conn) writeAddresses(as []message.Address) {
	w := &c.w
	if len(as) == 0 {
		w.raw("NIL")
		return
	}
	w.byte('(')
	for _, a := range as {
		switch a.Kind {
		case message.AddrGroupStart:
			w.raw("(NIL NIL ")
			w.nstring(a.Mailbox)
			w.raw(" NIL)")
		case message.AddrGroupEnd:
			w.raw("(NIL NIL NIL NIL)")
		default:
			w.byte('(')
			w.nstring(a.Name)
			w.sp()
			w.nstring(a.Adl)
			w.sp()
			w.nstring(a.Mailbox)
			w.sp()
			w.nstring(a.Host)
			w.byte(')')
		}
	}
	w.byte(')')
}

// writeBodyStructure writes BODY or, with ext, BODYSTRUCTURE (RFC 9051
// §7.5.2). Types, subtypes, encodings and parameter names are sent upper
// case, as in the RFC's examples.
func (c *conn) writeBodyStructure(p *message.Part, ext bool) {
	w := &c.w
	w.byte('(')
	if p.IsMultipart() {
		for i := range p.Parts {
			c.writeBodyStructure(&p.Parts[i], ext)
		}
		w.sp()
		w.str(strings.ToUpper(p.Subtype))
		if ext {
			w.sp()
			c.writeParams(p.Params)
			w.sp()
			c.writeDisposition(p)
			w.sp()
			c.writeLanguage(p.Language)
			w.sp()
			w.nstring(p.Location)
		}
		w.byte(')')
		return
	}
	typ := p.Type
	if typ == "multipart" {
		// A multipart without parts is served as text (message.Parse never
		// makes one; a damaged structure might).
		typ = "text"
	}
	w.str(strings.ToUpper(typ))
	w.sp()
	w.str(strings.ToUpper(p.Subtype))
	w.sp()
	c.writeParams(p.Params)
	w.sp()
	w.nstring(p.ID)
	w.sp()
	w.nstring(p.Description)
	w.sp()
	w.str(strings.ToUpper(p.Encoding))
	w.sp()
	w.num64(p.Size())
	switch {
	case p.IsMessage():
		w.sp()
		c.writeEnvelope(p.Envelope)
		w.sp()
		c.writeBodyStructure(p.Inner, ext)
		w.sp()
		w.num64(p.Lines)
	case typ == "text":
		w.sp()
		w.num64(p.Lines)
	}
	if ext {
		w.sp()
		w.nstring(p.MD5)
		w.sp()
		c.writeDisposition(p)
		w.sp()
		c.writeLanguage(p.Language)
		w.sp()
		w.nstring(p.Location)
	}
	w.byte(')')
}

func (c *conn) writeParams(ps []message.Param) {
	w := &c.w
	if len(ps) == 0 {
		w.raw("NIL")
		return
	}
	w.byte('(')
	for i, p := range ps {
		if i > 0 {
			w.sp()
		}
		w.str(strings.ToUpper(p.Name))
		w.sp()
		w.str(p.Value)
	}
	w.byte(')')
}

func (c *conn) writeDisposition(p *message.Part) {
	w := &c.w
	if p.Disposition == "" {
		w.raw("NIL")
		return
	}
	w.byte('(')
	w.str(strings.ToUpper(p.Disposition))
	w.sp()
	c.writeParams(p.DispositionParams)
	w.byte(')')
}

func (c *conn) writeLanguage(l []string) {
	w := &c.w
	switch len(l) {
	case 0:
		w.raw("NIL")
	case 1:
		w.str(l[0])
	default:
		w.byte('(')
		for i, s := range l {
			if i > 0 {
				w.sp()
			}
			w.str(s)
		}
		w.byte(')')
	}
}
