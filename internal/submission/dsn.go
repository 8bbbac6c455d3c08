package submission

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/textproto"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// notify tells the sender which recipients failed for good: a delivery
// status notification (RFC 3464, multipart/report, RFC 6522) delivered to
// the sender's mailbox as any local mail is. A sender whose mailbox is gone
// gets none (logged).
func (r *Runner) notify(ctx context.Context, m store.OutboundMessage, failed []failure, now time.Time) error {
	raw := r.dsn(m, failed, now)
	p := message.Parse(raw)
	msg := store.NewMessage{InternalDate: now, Raw: raw, Structure: p.Marshal(),
		Summary: store.Summary{Subject: p.Subject(), From: p.From(), To: p.To(), Cc: p.Cc(), SentDate: p.Date()},
		Preview: p.PreviewOf(raw), HasPreview: true, HasBinary: p.HasBinary()}
	delivered, err := r.o.Store.Deliver(ctx, []int64{m.MailboxID}, msg)
	if errors.Is(err, store.ErrNotFound) {
		r.o.Logger.Warn("outbound: the sender's mailbox is gone; no delivery status notification", "queue_id", m.ID, "from", m.From)
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range delivered {
		if r.o.Hub != nil {
			r.o.Hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: d.MailboxID, FolderID: d.FolderID, ModSeq: d.ModSeq})
		}
	}
	return nil
}

// dsn builds the notification: a human-readable part, the machine-readable
// message/delivery-status, and the headers of the original message
// (text/rfc822-headers), as Exchange's "Undeliverable:" reports do.
func (r *Runner) dsn(m store.OutboundMessage, failed []failure, now time.Time) []byte {
	var idb [12]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	boundary := "=_gatehouse_dsn_" + id
	headers, subject := originalHeaders(m.Data)
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...); b.WriteString("\r\n") }
	w("Return-Path: <>")
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", r.o.Hostname)
	w("To: <%s>", m.From)
	w("Subject: %s", mime.QEncoding.Encode("utf-8", "Undeliverable: "+subject))
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", id, r.o.Hostname)
	w("Auto-Submitted: auto-replied") // RFC 3834
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"", boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	w("Your message couldn't be delivered to these recipients:")
	w("")
	for _, f := range failed {
		w("  %s", f.rcpt)
		w("    %s", f.String())
	}
	w("")
	w("The message was sent on %s. Nothing more will be tried for these recipients.", m.DateReceived.Format(time.RFC1123Z))
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", r.o.Hostname)
	w("Arrival-Date: %s", m.DateReceived.Format(time.RFC1123Z))
	for _, f := range failed {
		w("")
		w("Final-Recipient: rfc822; %s", f.rcpt)
		w("Action: failed")
		status := "5.0.0"
		if f.code != 0 && f.enhanced[0] == 5 {
			status = fmt.Sprintf("%d.%d.%d", f.enhanced[0], f.enhanced[1], f.enhanced[2])
		} else if f.code == 0 {
			status = "5.4.7" // delivery time expired (RFC 3463)
		}
		w("Status: %s", status)
		if f.code != 0 {
			w("Remote-MTA: dns; %s", hostOf(r.o.Smarthost))
			w("Diagnostic-Code: smtp; %s", oneLine(f.String()))
		} else {
			w("Diagnostic-Code: X-Gatehouse; %s", oneLine(f.text))
		}
		w("Last-Attempt-Date: %s", now.Format(time.RFC1123Z))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(headers)
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// originalHeaders returns the header section of a message (CRLF ends) and
// its decoded subject.
func originalHeaders(raw []byte) ([]byte, string) {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(raw)
	} else {
		end += 2
	}
	hdr := raw[:end]
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(append([]byte{}, hdr...), '\r', '\n'))))
	h, _ := tp.ReadMIMEHeader()
	subject := h.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	return hdr, subject
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func hostOf(hostport string) string {
	if i := strings.LastIndex(hostport, ":"); i > 0 {
		return strings.Trim(hostport[:i], "[]")
	}
	return hostport
}
