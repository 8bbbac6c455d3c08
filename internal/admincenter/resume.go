package admincenter

import (
	"net/http"
	"net/url"
)

// A change whose session ended before it arrived (the cookie expired, or
// the sign-in was ended elsewhere) must not be lost silently, nor applied
// behind the administrator's back after a new sign-in. The POST is sent to
// the sign-in page with the place it came from, rebuilt as a GET that shows
// the change again: the User Mailbox dialog with the pending
// Enable/Disable, or the confirmation of a Bulk Edit, Delete or security
// defaults change. Nothing is applied until the administrator confirms it
// there; pages that cannot hold the change (a password) say plainly that it
// was not saved.

// resumeParam marks the page a change goes back to after sign-in.
const resumeParam = "resume"

// maxResume bounds the address kept across the sign-in (a Bulk Edit of
// 1,000 mailboxes carries 1,000 GUIDs; such a change goes back to the list).
const maxResume = 8000

// resumeURL is the GET that shows again what a POST to the admin center
// wanted to do.
func resumeURL(r *http.Request) string {
	f := r.PostForm
	l := listStateFrom(f)
	ids := selection(f)
	v := l.values()
	v.Set(resumeParam, "1")
	var to string
	switch r.URL.Path {
	case editPath:
		if len(ids) != 1 {
			break
		}
		v.Set("section", "features")
		// Only what the administrator changed in the dialog is pending; a
		// value changed elsewhere meanwhile is shown as it is now.
		if pop, orig := boolParam(f.Get("pop"), true), boolParam(f.Get("orig_pop"), true); pop != orig {
			v.Set("pop", boolText(pop))
		}
		if imap, orig := boolParam(f.Get("imap"), true), boolParam(f.Get("orig_imap"), true); imap != orig {
			v.Set("imap", boolText(imap))
		}
		to = withQuery(editPath, v, ids...)
	case bulkPath:
		v.Set("protocol", f.Get("protocol"))
		v.Set("action", f.Get("action"))
		to = withQuery(bulkPath, v, ids...)
	case removeMailboxPath, emailAppsPath, passwordPath:
		if len(ids) == 1 {
			to = withQuery(r.URL.Path, v, ids...)
		}
	case securityDefaultsPath:
		to = securityDefaultsConfirmPath + "?" + url.Values{"enable": {boolText(boolParam(f.Get("enable"), true))}, resumeParam: {"1"}}.Encode()
	case planPath:
		to = planPath + "?" + resumeParam + "=1"
	case memberAddPath, memberRemovePath:
		to = permissionsPath + "?" + url.Values{"group": {f.Get("group")}, resumeParam: {"1"}}.Encode()
	case newMailboxPath:
		to = withQuery(newMailboxPath, v)
	}
	if to == "" || len(to) > maxResume {
		to = withQuery(mailboxesPath, v)
	}
	return to
}

// resumeFlash says, on the page a change went back to, that it was not
// saved and what to do.
func resumeFlash(r *http.Request) *flash {
	if r.Method != http.MethodGet || r.URL.Query().Get(resumeParam) == "" {
		return nil
	}
	text := "Your session ended before your change reached the server, so nothing was changed. Make the change again."
	switch r.URL.Path {
	case editPath:
		text = "Your session ended before Save, so this change has not been saved. It is shown below: choose Save to apply it, or Cancel to discard it."
	case bulkPath, removeMailboxPath, securityDefaultsConfirmPath:
		text = "Your session ended before OK, so nothing was changed. Choose OK (Yes) to do it now, or Cancel (No) to leave everything as it is."
	}
	return &flash{Kind: "warning", Text: text}
}
