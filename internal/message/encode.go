package message

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The stored encoding, version 1:
//
//	message  = version(1) envelope part
//	part     = flags type subtype params id description encoding md5
//	           disposition params languages location
//	           headerStart (bodyStart-headerStart) (end-bodyStart) lines
//	           nparts part*  [envelope part]   ; the last two when flags&1
//	                                           ; flags&2: Part.NUL
//	envelope = date subject from sender replyto to cc bcc inreplyto messageid
//	addrs    = n (kind name adl mailbox host)*
//	params   = n (name value)*
//	string   = uvarint k: k even, a literal of k/2 bytes follows;
//	           k odd, commonStrings[(k-1)/2]
//
// Numbers are uvarints. The table of common strings is part of the format:
// it may only grow at its end within one version.
const version1 = 1

var commonStrings = [...]string{
	"text", "plain", "html", "multipart", "mixed", "alternative", "related",
	"message", "rfc822", "application", "octet-stream", "image", "7bit",
	"8bit", "base64", "quoted-printable", "binary", "charset", "us-ascii",
	"utf-8", "iso-8859-1", "boundary", "name", "filename", "attachment",
	"inline", "delivery-status", "pdf", "jpeg", "png", "format", "flowed",
	"report", "report-type", "signed", "protocol", "micalg", "windows-1252",
	"UTF-8", "US-ASCII", "ISO-8859-1", "delsp", "yes", "no", "global",
	"calendar", "method", "REQUEST", "gif", "zip", "x-pkcs7-signature",
	"pgp-signature", "application/pgp-signature", "sha-256", "sha1",
	"size", "creation-date", "modification-date", "utf8", "iso-8859-15",
}

const (
	flagInner = 1
	flagNUL   = 2
)

var commonIndex = func() map[string]int {
	m := make(map[string]int, len(commonStrings))
	for i, s := range commonStrings {
		m[s] = i
	}
	return m
}()

// Marshal encodes m compactly for storage (store.MessageMeta.Structure).
func (m *Message) Marshal() []byte {
	b := make([]byte, 0, 256)
	b = append(b, version1)
	b = appendEnvelope(b, &m.Envelope)
	return appendPart(b, &m.Root)
}

func appendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	if i, ok := commonIndex[s]; ok {
		return appendUint(b, uint64(i)*2+1)
	}
	b = appendUint(b, uint64(len(s))*2)
	return append(b, s...)
}

func appendParams(b []byte, ps []Param) []byte {
	b = appendUint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
	}
	return b
}

func appendAddrs(b []byte, as []Address) []byte {
	b = appendUint(b, uint64(len(as)))
	for _, a := range as {
		b = append(b, byte(a.Kind))
		b = appendString(b, a.Name)
		b = appendString(b, a.Adl)
		b = appendString(b, a.Mailbox)
		b = appendString(b, a.Host)
	}
	return b
}

func appendEnvelope(b []byte, e *Envelope) []byte {
	b = appendString(b, e.Date)
	b = appendString(b, e.Subject)
	for _, l := range [...][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		b = appendAddrs(b, l)
	}
	b = appendString(b, e.InReplyTo)
	return appendString(b, e.MessageID)
}

func appendPart(b []byte, p *Part) []byte {
	var flags uint64
	if p.Inner != nil && p.Envelope != nil {
		flags |= flagInner
	}
	if p.NUL {
		flags |= flagNUL
	}
	b = appendUint(b, flags)
	b = appendString(b, p.Type)
	b = appendString(b, p.Subtype)
	b = appendParams(b, p.Params)
	b = appendString(b, p.ID)
	b = appendString(b, p.Description)
	b = appendString(b, p.Encoding)
	b = appendString(b, p.MD5)
	b = appendString(b, p.Disposition)
	b = appendParams(b, p.DispositionParams)
	b = appendUint(b, uint64(len(p.Language)))
	for _, l := range p.Language {
		b = appendString(b, l)
	}
	b = appendString(b, p.Location)
	b = appendUint(b, uint64(p.HeaderStart))
	b = appendUint(b, uint64(p.BodyStart-p.HeaderStart))
	b = appendUint(b, uint64(p.End-p.BodyStart))
	b = appendUint(b, uint64(p.Lines))
	b = appendUint(b, uint64(len(p.Parts)))
	for i := range p.Parts {
		b = appendPart(b, &p.Parts[i])
	}
	if flags&flagInner != 0 {
		b = appendEnvelope(b, p.Envelope)
		b = appendPart(b, p.Inner)
	}
	return b
}

// ErrCorrupt is returned by Unmarshal for data that is not a valid encoding.
var ErrCorrupt = errors.New("message: corrupt structure encoding")

// Unmarshal decodes what Marshal encoded. It is cheap: one allocation holds
// all strings, which share it.
func Unmarshal(b []byte) (*Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != version1 {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[0])
	}
	d := decoder{s: string(b), i: 1}
	m := &Message{}
	d.envelope(&m.Envelope)
	d.part(&m.Root, 0)
	if d.err != nil {
		return nil, d.err
	}
	if d.i != len(d.s) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.s)-d.i)
	}
	return m, nil
}

type decoder struct {
	s     string
	i     int
	err   error
	parts int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", ErrCorrupt, what, d.i)
	}
	d.i = len(d.s)
}

func (d *decoder) uint() uint64 {
	var v uint64
	var shift uint
	for n := 0; ; n++ {
		if d.i >= len(d.s) || n == binary.MaxVarintLen64 {
			d.fail("bad number")
			return 0
		}
		c := d.s[d.i]
		d.i++
		if c < 0x80 {
			if n == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("number overflows")
				return 0
			}
			return v | uint64(c)<<shift
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
	}
}

// count reads a list length; each element takes at least min bytes, which
// bounds what a corrupt length can make us allocate.
func (d *decoder) count(min int) int {
	n := d.uint()
	if n > uint64(len(d.s)-d.i)/uint64(min) {
		d.fail("bad count")
		return 0
	}
	return int(n)
}

func (d *decoder) int64() int64 {
	v := d.uint()
	if v > 1<<40 {
		d.fail("bad offset")
		return 0
	}
	return int64(v)
}

func (d *decoder) string() string {
	k := d.uint()
	if k&1 == 1 {
		i := k >> 1
		if i >= uint64(len(commonStrings)) {
			d.fail("bad string index")
			return ""
		}
		return commonStrings[i]
	}
	n := k >> 1
	if n > uint64(len(d.s)-d.i) {
		d.fail("bad string length")
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *decoder) params() []Param {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i].Name = d.string()
		ps[i].Value = d.string()
	}
	return ps
}

func (d *decoder) addrs() []Address {
	n := d.count(5)
	if n == 0 {
		return nil
	}
	as := make([]Address, n)
	for i := range as {
		if d.i >= len(d.s) {
			d.fail("truncated address")
			return nil
		}
		k := AddressKind(d.s[d.i])
		d.i++
		if k > AddrGroupEnd {
			d.fail("bad address kind")
			return nil
		}
		as[i] = Address{Kind: k, Name: d.string(), Adl: d.string(), Mailbox: d.string(), Host: d.string()}
	}
	return as
}

func (d *decoder) envelope(e *Envelope) {
	e.Date = d.string()
	e.Subject = d.string()
	e.From = d.addrs()
	e.Sender = d.addrs()
	e.ReplyTo = d.addrs()
	e.To = d.addrs()
	e.Cc = d.addrs()
	e.Bcc = d.addrs()
	e.InReplyTo = d.string()
	e.MessageID = d.string()
}

// minPartLen is the fewest bytes an encoded part takes.
const minPartLen = 17

func (d *decoder) part(p *Part, depth int) {
	d.parts++
	if depth > 2*maxDepth+2 || d.parts > 2*maxParts {
		d.fail("too deep")
		return
	}
	flags := d.uint()
	if flags&^(flagInner|flagNUL) != 0 {
		d.fail("bad flags")
		return
	}
	p.NUL = flags&flagNUL != 0
	p.Type = d.string()
	p.Subtype = d.string()
	p.Params = d.params()
	p.ID = d.string()
	p.Description = d.string()
	p.Encoding = d.string()
	p.MD5 = d.string()
	p.Disposition = d.string()
	p.DispositionParams = d.params()
	if n := d.count(1); n > 0 {
		p.Language = make([]string, n)
		for i := range p.Language {
			p.Language[i] = d.string()
		}
	}
	p.Location = d.string()
	p.HeaderStart = d.int64()
	p.BodyStart = p.HeaderStart + d.int64()
	p.End = p.BodyStart + d.int64()
	p.Lines = d.int64()
	if n := d.count(minPartLen); n > 0 {
		p.Parts = make([]Part, n)
		for i := range p.Parts {
			d.part(&p.Parts[i], depth+1)
		}
	}
	if flags&flagInner != 0 {
		p.Envelope = &Envelope{}
		d.envelope(p.Envelope)
		p.Inner = &Part{}
		d.part(p.Inner, depth+1)
	}
}
