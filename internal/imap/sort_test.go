package imap

import "testing"

func TestBaseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Hello":                         "Hello",
		"Re: Hello":                     "Hello",
		"RE: re:  Hello   world ":       "Hello world",
		"Fwd: Re: Hello":                "Hello",
		"FW: Hello (fwd)":               "Hello",
		"Hello (fwd) (FWD)":             "Hello",
		"[list] Re: Hello":              "Hello",
		"Re [list]: Hello":              "Hello",
		"[PATCH] Hello":                 "Hello",
		"[PATCH]":                       "[PATCH]",
		"[fwd: Re: Hello]":              "Hello",
		"Re: [fwd: Hello] (fwd)":        "Hello",
		"re Hello":                      "re Hello",
		"Re:":                           "",
		"Réponse: Grüße":                "Réponse: Grüße",
		"Re: [a] [b] Quarterly figures": "Quarterly figures",
	} {
		if got := baseSubject(in); got != want {
			t.Errorf("baseSubject(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestFirstMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"bob@example.com":               "bob",
		"Bob Smith <bob@example.com>":   "bob",
		"Müller, Jürgen <jm@x.de>, a@b": "jm",
		"a@b, Bob <bob@example.com>":    "a",
		"undisclosed-recipients":        "",
	} {
		if got := firstMailbox(in); got != want {
			t.Errorf("firstMailbox(%q) = %q; want %q", in, got, want)
		}
	}
}
