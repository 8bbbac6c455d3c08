package autoconfig

import (
	"encoding/xml"
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// ClientConfig is Thunderbird's autoconfig document, version 1.1
// (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat).
// Its element order is the file format's.
type ClientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider EmailProvider `xml:"emailProvider"`
}

// EmailProvider is the one provider of a ClientConfig.
type EmailProvider struct {
	ID               string         `xml:"id,attr"`
	Domains          []string       `xml:"domain"`
	DisplayName      string         `xml:"displayName"`
	DisplayShortName string         `xml:"displayShortName"`
	Incoming         []ConfigServer `xml:"incomingServer"`
	Outgoing         []ConfigServer `xml:"outgoingServer"`
}

// ConfigServer is an incomingServer (type imap or pop3) or an
// outgoingServer (type smtp).
type ConfigServer struct {
	Type     string `xml:"type,attr"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	// SocketType is "SSL" (implicit TLS), "STARTTLS" or "plain".
	SocketType string `xml:"socketType"`
	// Authentication "password-cleartext": PLAIN, LOGIN or the protocol's
	// own login, inside TLS.
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

// clientConfig builds the document for the servers offered.
func (h *Handler) clientConfig(ca service.ClientAccess, addrDomain string) ClientConfig {
	in, out := h.offer(ca)
	p := EmailProvider{ID: h.o.Domain, Domains: []string{h.o.Domain}, DisplayName: h.o.Organization + " Mail",
		DisplayShortName: h.o.Organization}
	if addrDomain != "" && addrDomain != h.o.Domain {
		p.Domains = append(p.Domains, addrDomain)
	}
	conv := func(s server) ConfigServer {
		sock := "STARTTLS"
		if s.implicitTLS {
			sock = "SSL"
		}
		// %EMAILADDRESS% is the address the user typed: every mailbox
		// signs in with any of its addresses.
		return ConfigServer{Type: s.kind, Hostname: s.Host, Port: s.Port, SocketType: sock,
			Authentication: "password-cleartext", Username: "%EMAILADDRESS%"}
	}
	for _, s := range in {
		p.Incoming = append(p.Incoming, conv(s))
	}
	for _, s := range out {
		p.Outgoing = append(p.Outgoing, conv(s))
	}
	return ClientConfig{Version: "1.1", Provider: p}
}

// thunderbird answers GET config-v1.1.xml?emailaddress=... A mailbox that
// may not use authenticated SMTP gets no outgoingServer, as the rule says;
// Thunderbird's reader (readFromXML) refuses such a file and goes on to
// manual setup, other readers take the incoming servers. An answer
// without servers (every protocol blocked for the address) is 404, so that
// the client goes on to manual setup rather than stop at an empty account.
func (h *Handler) thunderbird(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var ca service.ClientAccess
	domain := ""
	if raw, ok := r.URL.Query()["emailaddress"]; ok {
		if len(raw) != 1 {
			http.Error(w, "emailaddress: give one address", http.StatusBadRequest)
			return
		}
		var addr string
		if addr, ca, ok = h.lookup(w, r, raw[0]); !ok {
			return
		}
		domain = addr[lastAt(addr)+1:]
	} else {
		// No address: the answer of an unknown one.
		var ok bool
		if _, ca, ok = h.lookupGeneric(w, r); !ok {
			return
		}
	}
	doc := h.clientConfig(ca, domain)
	if len(doc.Provider.Incoming) == 0 {
		http.Error(w, "No mail app may be set up for this address. Contact your administrator.", http.StatusNotFound)
		return
	}
	writeXML(w, "application/xml", doc)
}

func lastAt(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			return i
		}
	}
	return -1
}

// lookupGeneric decides for no address at all, as for an unknown one.
func (h *Handler) lookupGeneric(w http.ResponseWriter, r *http.Request) (string, service.ClientAccess, bool) {
	ca, err := h.o.Service.AutoconfigAccess(r.Context(), "")
	if err != nil {
		h.log.Error("autoconfig lookup", "err", err)
		http.Error(w, "The settings could not be read; try again later.", http.StatusServiceUnavailable)
		return "", ca, false
	}
	return "", ca, true
}

func writeXML(w http.ResponseWriter, contentType string, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)+1))
	io.WriteString(w, xml.Header)
	w.Write(b)
	io.WriteString(w, "\n")
}
