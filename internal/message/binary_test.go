package message

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestBinaryToBase64(t *testing.T) {
	long := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '\r'}, 20) // 120 octets: two full lines and a short one
	longB64 := base64.StdEncoding.EncodeToString(long)
	tests := []struct {
		name, in, want string
	}{
		{"no binary part", "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\ngr\xfc\xdfe\r\n", ""},
		{"one part", "Subject: x\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00ab",
			"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nAGFi"},
		{"folded field, kept order", "Content-Transfer-Encoding:\r\n  BINARY\r\nX-After: 1\r\n\r\nab",
			"Content-Transfer-Encoding: base64\r\nX-After: 1\r\n\r\nYWI="},
		{"two fields, white space before the colon", "A: 1\r\nContent-Transfer-Encoding : 7bit\r\nB: 2\r\ncontent-transfer-encoding: binary\r\n\r\nab",
			"A: 1\r\nContent-Transfer-Encoding: base64\r\nB: 2\r\n\r\nYWI="},
		{"NUL without a label", "Subject: x\r\n\r\na\x00b",
			"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBi"},
		{"no header", "\x00\x01bin", "Content-Transfer-Encoding: base64\r\n\r\nAAFiaW4="},
		{"empty header", "\r\n\x00", "Content-Transfer-Encoding: base64\r\n\r\nAA=="},
		{"header only", "Content-Transfer-Encoding: binary", "Content-Transfer-Encoding: base64\r\n"},
		{"bare LF header", "Content-Transfer-Encoding: binary\nX: y\n\n\x00",
			"Content-Transfer-Encoding: base64\r\nX: y\n\nAA=="},
		{"long lines", "Content-Transfer-Encoding: binary\r\n\r\n" + string(long),
			"Content-Transfer-Encoding: base64\r\n\r\n" + longB64[:76] + "\r\n" + longB64[76:152] + "\r\n" + longB64[152:]},
		{"multipart: only the binary part",
			"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\npre\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\xff\r\n--b--\r\nepilogue\x00",
			"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\npre\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: base64\r\n\r\nAP8=\r\n--b--\r\nepilogue\x00"},
		{"encapsulated message",
			"Content-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00",
			"Content-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: base64\r\n\r\nAA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.in)
			m := Parse(raw)
			got := BinaryToBase64(raw, m)
			if tt.want == "" {
				if m.HasBinary() {
					t.Fatalf("HasBinary() = true; want false")
				}
				if &got[0] != &raw[0] || len(got) != len(raw) {
					t.Fatalf("a message without binary parts was copied or changed: %q", got)
				}
				return
			}
			if !m.HasBinary() {
				t.Fatalf("HasBinary() = false; want true")
			}
			if string(got) != tt.want {
				t.Fatalf("BinaryToBase64 =\n%q\nwant\n%q", got, tt.want)
			}
			if Parse(got).HasBinary() {
				t.Fatalf("the converted message still has a binary part")
			}
		})
	}
}

// TestBinaryPartsStructure: the converted message parses to the same tree
// with the converted parts labelled base64 and decoding to the original.
func TestBinaryPartsStructure(t *testing.T) {
	raw := []byte(string(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n")) +
		"\x00\x01\x02\r\n\n\xfe" + string(crlf("\n--b--\n")))
	m := Parse(raw)
	if !m.Root.Parts[1].NUL || m.Root.Parts[0].NUL || m.Root.NUL {
		t.Fatalf("NUL flags: root %v, parts %v %v; want only part 2", m.Root.NUL, m.Root.Parts[0].NUL, m.Root.Parts[1].NUL)
	}
	roundTrip(t, m)
	out := BinaryToBase64(raw, m)
	c := Parse(out)
	if len(c.Root.Parts) != 2 || c.Root.Parts[1].Encoding != "base64" || c.Root.Parts[0].Encoding != "7bit" {
		t.Fatalf("converted structure: %+v", c.Root)
	}
	p := c.Root.Parts[1]
	dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(out[p.BodyStart:p.End]), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	o := m.Root.Parts[1]
	if !bytes.Equal(dec, raw[o.BodyStart:o.End]) {
		t.Fatalf("decoded %q; want %q", dec, raw[o.BodyStart:o.End])
	}
}
