package message

import "testing"

func TestPartText(t *testing.T) {
	tests := []struct {
		enc, charset, body, want string
	}{
		{"7bit", "", "plain\r\n", "plain\r\n"},
		{"quoted-printable", "utf-8", "caf=C3=A9 =\r\nsoft", "café soft"},
		{"quoted-printable", "iso-8859-1", "caf=E9", "café"},
		{"base64", "utf-8", "Y2Fmw6k=\r\n", "café"},
		{"base64", "", "Y2F\r\nm\x00w6k", "café"},
		{"base64", "", "Y", ""},
		{"8bit", "windows-1252", "\x80", "€"},
		{"8bit", "no-such-charset", "x\xff", "x\uFFFD"},
	}
	for _, tt := range tests {
		p := &Part{Type: "text", Subtype: "plain", Encoding: tt.enc}
		if tt.charset != "" {
			p.Params = []Param{{"charset", tt.charset}}
		}
		if got := p.Text([]byte(tt.body)); got != tt.want {
			t.Errorf("Text(%s, %s, %q) = %q; want %q", tt.enc, tt.charset, tt.body, got, tt.want)
		}
	}
}
