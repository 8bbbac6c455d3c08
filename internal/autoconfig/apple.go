package autoconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The Apple configuration profile (a property list of PayloadType
// "Configuration" holding one com.apple.mail.managed payload) sets up
// Apple Mail on iPhone, iPad and Mac. It is not signed: the device says
// "Unverified" when it is installed. Signing needs a certificate the
// devices trust, which an organization can apply to the file itself
// (openssl smime -sign); the README says how.
//
// A mail payload holds one incoming server (IMAP4 preferred, else POP3)
// and requires an outgoing one, so a mailbox that may not use
// authenticated SMTP, or neither IMAP4 nor POP3, gets no profile but a
// 409 that says why.

// plistValue is a value of the property list: string, int, bool, or a
// nested dict/array.
type plistDict []plistEntry

type plistEntry struct {
	key   string
	value any
}

func writePlist(b *bytes.Buffer, v any, indent string) {
	switch v := v.(type) {
	case string:
		b.WriteString(indent + "<string>")
		xml.EscapeText(b, []byte(v))
		b.WriteString("</string>\n")
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", indent, v)
	case bool:
		if v {
			b.WriteString(indent + "<true/>\n")
		} else {
			b.WriteString(indent + "<false/>\n")
		}
	case plistDict:
		b.WriteString(indent + "<dict>\n")
		for _, e := range v {
			b.WriteString(indent + "\t<key>")
			xml.EscapeText(b, []byte(e.key))
			b.WriteString("</key>\n")
			writePlist(b, e.value, indent+"\t")
		}
		b.WriteString(indent + "</dict>\n")
	case []any:
		b.WriteString(indent + "<array>\n")
		for _, e := range v {
			writePlist(b, e, indent+"\t")
		}
		b.WriteString(indent + "</array>\n")
	default:
		panic(fmt.Sprintf("plist: %T", v))
	}
}

// stableUUID derives a UUID from parts, so that downloading the profile
// again for the same address replaces the installed one instead of adding
// a second account.
func stableUUID(parts ...string) string {
	h := sha256.Sum256([]byte("gatehouse mobileconfig\x00" + strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout (name-based)
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// reverseDomain makes "com.contoso" of "contoso.com" for payload
// identifiers.
func reverseDomain(d string) string {
	l := strings.Split(d, ".")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return strings.Join(l, ".")
}

// apple answers GET apple.mobileconfig?emailaddress=...
func (h *Handler) apple(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	addr, ca, ok := h.lookup(w, r, r.URL.Query().Get("emailaddress"))
	if !ok {
		return
	}
	in, out := h.offer(ca)
	if len(in) == 0 || len(out) == 0 {
		http.Error(w, "A configuration profile for Apple Mail needs an incoming server (IMAP4 or POP3) and an outgoing one "+
			"(authenticated SMTP), and this address may not use both. Set the account up by hand, or contact your administrator.",
			http.StatusConflict)
		return
	}
	inc, outg := in[0], out[0]
	accountType := "EmailTypeIMAP"
	if inc.kind == "pop3" {
		accountType = "EmailTypePOP"
	}
	id := "com.gatehouse-mail." + reverseDomain(h.o.Domain)
	mailPayload := plistDict{
		{"EmailAccountDescription", h.o.Organization + " Mail"},
		{"EmailAccountName", addr},
		{"EmailAccountType", accountType},
		{"EmailAddress", addr},
		{"IncomingMailServerAuthentication", "EmailAuthPassword"},
		{"IncomingMailServerHostName", inc.Host},
		{"IncomingMailServerPortNumber", inc.Port},
		{"IncomingMailServerUseSSL", true},
		{"IncomingMailServerUsername", addr},
		{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
		{"OutgoingMailServerHostName", outg.Host},
		{"OutgoingMailServerPortNumber", outg.Port},
		{"OutgoingMailServerUseSSL", true},
		{"OutgoingMailServerUsername", addr},
		{"OutgoingPasswordSameAsIncomingPassword", true},
		{"PayloadDescription", "Mail account " + addr},
		{"PayloadDisplayName", h.o.Organization + " Mail"},
		{"PayloadIdentifier", id + ".mail." + stableUUID(addr)},
		{"PayloadType", "com.apple.mail.managed"},
		{"PayloadUUID", stableUUID("mail", addr)},
		{"PayloadVersion", 1},
	}
	profile := plistDict{
		{"PayloadContent", []any{mailPayload}},
		{"PayloadDescription", "Sets up the mail account " + addr + " (unsigned profile)."},
		{"PayloadDisplayName", h.o.Organization + " Mail (" + addr + ")"},
		{"PayloadIdentifier", id + "." + stableUUID(addr)},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", stableUUID("profile", addr)},
		{"PayloadVersion", 1},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	writePlist(&b, profile, "")
	b.WriteString("</plist>\n")
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+h.o.Domain+`.mobileconfig"`)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}
