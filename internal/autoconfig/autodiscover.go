package autoconfig

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The namespaces of Outlook's POX Autodiscover ([MS-OXDSCLI]).
const (
	RequestNS          = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	ResponseNS         = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	OutlookResponseNS  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	maxAutodiscoverLen = 16 << 10
)

// AutodiscoverRequest is the body Outlook POSTs.
type AutodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// AutodiscoverResponse is the answer: an Account of type email with one
// Protocol per server (IMAP, POP3, SMTP), or an Error.
type AutodiscoverResponse struct {
	XMLName  xml.Name        `xml:"Autodiscover"`
	NS       string          `xml:"xmlns,attr"`
	Response OutlookResponse `xml:"Response"`
}

// OutlookResponse is the Response element in the Outlook namespace.
type OutlookResponse struct {
	NS      string               `xml:"xmlns,attr"`
	Account *AutodiscoverAccount `xml:"Account,omitempty"`
	Error   *AutodiscoverError   `xml:"Error,omitempty"`
}

// AutodiscoverAccount holds the protocols.
type AutodiscoverAccount struct {
	AccountType string                 `xml:"AccountType"`
	Action      string                 `xml:"Action"`
	Protocols   []AutodiscoverProtocol `xml:"Protocol"`
}

// AutodiscoverProtocol is one server. SSL "on" with Encryption "SSL" is
// implicit TLS, Encryption "TLS" is STARTTLS (Outlook reads Encryption
// before SSL when both are present).
type AutodiscoverProtocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName"`
	DomainRequired string `xml:"DomainRequired"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"`
	AuthRequired   string `xml:"AuthRequired"`
}

// AutodiscoverError is the Error element.
type AutodiscoverError struct {
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
}

func (h *Handler) autodiscoverAccount(ca service.ClientAccess, address string) *AutodiscoverAccount {
	in, out := h.offer(ca)
	a := &AutodiscoverAccount{AccountType: "email", Action: "settings"}
	for _, s := range append(in, out...) {
		p := AutodiscoverProtocol{Server: s.Host, Port: s.Port, LoginName: address, DomainRequired: "off", SPA: "off",
			SSL: "on", Encryption: "TLS", AuthRequired: "on"}
		if s.implicitTLS {
			p.Encryption = "SSL"
		}
		switch s.kind {
		case "imap":
			p.Type = "IMAP"
		case "pop3":
			p.Type = "POP3"
		case "smtp":
			p.Type = "SMTP"
		}
		a.Protocols = append(a.Protocols, p)
	}
	return a
}

// autodiscover answers Outlook's POST (and, for clients that send one, a
// GET with ?emailaddress=).
func (h *Handler) autodiscover(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	raw := r.URL.Query().Get("emailaddress")
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAutodiscoverLen+1))
		if err != nil || len(body) > maxAutodiscoverLen {
			h.autodiscoverError(w, http.StatusBadRequest, "The request could not be read.")
			return
		}
		var req AutodiscoverRequest
		if err := xml.Unmarshal(body, &req); err != nil || req.XMLName.Space != RequestNS {
			h.autodiscoverError(w, http.StatusBadRequest, "The request is not an Outlook Autodiscover request ("+RequestNS+").")
			return
		}
		if s := req.Request.AcceptableResponseSchema; s != "" && s != OutlookResponseNS {
			h.autodiscoverError(w, http.StatusBadRequest, "Only the response schema "+OutlookResponseNS+" is served.")
			return
		}
		raw = req.Request.EMailAddress
	}
	addr, err := ParseAddress(raw)
	if err != nil {
		h.autodiscoverError(w, http.StatusBadRequest, "EMailAddress: not a valid email address.")
		return
	}
	ca, err := h.o.Service.AutoconfigAccess(r.Context(), addr)
	if err != nil {
		h.log.Error("autodiscover lookup", "err", err)
		h.autodiscoverError(w, http.StatusServiceUnavailable, "The settings could not be read; try again later.")
		return
	}
	acct := h.autodiscoverAccount(ca, addr)
	if len(acct.Protocols) == 0 {
		h.autodiscoverError(w, http.StatusNotFound, "No mail app may be set up for this address. Contact your administrator.")
		return
	}
	writeXML(w, "application/xml", AutodiscoverResponse{NS: ResponseNS, Response: OutlookResponse{NS: OutlookResponseNS, Account: acct}})
}

// autodiscoverError answers with an Error element (ErrorCode 600, Invalid
// Request, for a bad request; 500 otherwise) and the HTTP status.
func (h *Handler) autodiscoverError(w http.ResponseWriter, status int, msg string) {
	code := 500
	if status == http.StatusBadRequest {
		code = 600
	}
	b, _ := xml.MarshalIndent(AutodiscoverResponse{NS: ResponseNS, Response: OutlookResponse{NS: OutlookResponseNS,
		Error: &AutodiscoverError{ErrorCode: code, Message: msg}}}, "", "  ")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(b)
	io.WriteString(w, "\n")
}
