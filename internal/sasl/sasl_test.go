package sasl

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/auth"
)

// fakeAuth checks credentials against one user: password "pencil", SCRAM
// keys from RFC 7677's example, token "good".
type fakeAuth struct {
	keys auth.SCRAMKeys
	got  *Credential
}

var errBad = errors.New("bad credentials")

func (f *fakeAuth) Authenticate(ctx context.Context, c *Credential) error {
	f.got = c
	switch {
	case c.SCRAM != nil:
		sig, ok := f.keys.VerifySCRAM(c.SCRAM.AuthMessage, c.SCRAM.ClientProof)
		if !ok {
			return &InvalidCredentials{Err: errBad}
		}
		c.SCRAM.ServerSignature = sig
	case c.Token != "":
		if c.Token != "good" {
			return &InvalidCredentials{Err: errBad}
		}
	case c.Password != "pencil":
		return &InvalidCredentials{Err: errBad}
	}
	return nil
}

func (f *fakeAuth) SCRAMParams(ctx context.Context, user string) ([]byte, int, error) {
	return f.keys.Salt, f.keys.Iterations, nil
}

func newFake(t *testing.T) *fakeAuth {
	t.Helper()
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	k, err := auth.DeriveSCRAMKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeAuth{keys: k}
}

// step runs one Next and checks its outcome.
func step(t *testing.T, s Server, resp string, nilResp bool, wantChal string, wantDone bool) error {
	t.Helper()
	var r []byte
	if !nilResp {
		r = []byte(resp)
	}
	chal, done, err := s.Next(r)
	if err != nil {
		return err
	}
	if string(chal) != wantChal || done != wantDone {
		t.Fatalf("Next(%q): got %q done=%v; want %q done=%v", resp, chal, done, wantChal, wantDone)
	}
	return nil
}

// TestSCRAMRFC7677 runs the example exchange of RFC 7677 §3.
func TestSCRAMRFC7677(t *testing.T) {
	f := newFake(t)
	s := &scramServer{ctx: context.Background(), a: f, lookup: f, nonce: func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }}
	if err := step(t, s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", false,
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", false); err != nil {
		t.Fatal(err)
	}
	if err := step(t, s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", false,
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", false); err != nil {
		t.Fatal(err)
	}
	if err := step(t, s, "", false, "", true); err != nil {
		t.Fatal(err)
	}
	if f.got.Username != "user" || f.got.Mechanism != ScramSHA256 {
		t.Errorf("credential: got %+v", f.got)
	}
}

func TestSCRAMRefusals(t *testing.T) {
	nonce := func() string { return "SRV" }
	for _, tc := range []struct {
		name          string
		first, final  string
		wantErr       string // "" for a *ProtocolError of any text
		wantAuthzid   bool
		wantBadCreds  bool
		wantFirstFail bool
	}{
		{name: "wrong proof", first: "n,,n=user,r=abc", final: "c=biws,r=abcSRV,p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), wantBadCreds: true},
		{name: "nonce changed", first: "n,,n=user,r=abc", final: "c=biws,r=abcXYZ,p=AAAA"},
		{name: "channel binding echo wrong", first: "n,,n=user,r=abc", final: "c=eSws,r=abcSRV,p=AAAA"},
		{name: "no proof", first: "n,,n=user,r=abc", final: "c=biws,r=abcSRV"},
		{name: "plus requested", first: "p=tls-unique,,n=user,r=abc", wantFirstFail: true},
		{name: "mandatory extension", first: "n,,m=ext,n=user,r=abc", wantFirstFail: true},
		{name: "bad name escape", first: "n,,n=us=er,r=abc", wantFirstFail: true},
		{name: "no nonce", first: "n,,n=user", wantFirstFail: true},
		{name: "garbage", first: "hello", wantFirstFail: true},
		{name: "other authzid", first: "n,a=admin,n=user,r=abc", wantFirstFail: true, wantAuthzid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			s := &scramServer{ctx: context.Background(), a: f, lookup: f, nonce: nonce}
			_, _, err := s.Next([]byte(tc.first))
			if !tc.wantFirstFail {
				if err != nil {
					t.Fatalf("first: %v", err)
				}
				_, done, err2 := s.Next([]byte(tc.final))
				err = err2
				if !done {
					t.Errorf("final: not done")
				}
			}
			var pe *ProtocolError
			switch {
			case tc.wantAuthzid:
				if !errors.Is(err, ErrAuthzid) {
					t.Errorf("got %v; want ErrAuthzid", err)
				}
			case tc.wantBadCreds:
				if !errors.Is(err, errBad) {
					t.Errorf("got %v; want the Authenticator's error", err)
				}
			case !errors.As(err, &pe):
				t.Errorf("got %v; want a protocol error", err)
			}
			if _, done, err := s.Next([]byte("x")); err == nil || !done {
				t.Errorf("a response after the end: got done=%v err=%v; want an error", done, err)
			}
		})
	}
}

func TestPlainAndLogin(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	s, _ := New(ctx, "plain", f)
	if err := step(t, s, "", true, "", false); err != nil {
		t.Fatal(err)
	}
	if err := step(t, s, "\x00user\x00pencil", false, "", true); err != nil {
		t.Fatal(err)
	}
	s, _ = New(ctx, Plain, f)
	if _, _, err := s.Next([]byte("\x00user\x00wrong")); !errors.Is(err, errBad) {
		t.Errorf("wrong password: got %v; want the Authenticator's error, unwrapped", err)
	} else if _, ok := err.(*InvalidCredentials); ok {
		t.Errorf("wrong password: the error is still wrapped")
	}
	s, _ = New(ctx, Plain, f)
	if _, _, err := s.Next([]byte("admin\x00user\x00pencil")); !errors.Is(err, ErrAuthzid) {
		t.Errorf("authzid: got %v; want ErrAuthzid", err)
	}
	for _, bad := range []string{"", "user", "\x00\x00pencil", "a\x00b\x00c\x00d"} {
		s, _ = New(ctx, Plain, f)
		var pe *ProtocolError
		if _, _, err := s.Next([]byte(bad)); !errors.As(err, &pe) {
			t.Errorf("PLAIN %q: got %v; want a protocol error", bad, err)
		}
	}

	s, _ = New(ctx, Login, f)
	if err := step(t, s, "", true, "Username:", false); err != nil {
		t.Fatal(err)
	}
	if err := step(t, s, "user", false, "Password:", false); err != nil {
		t.Fatal(err)
	}
	if err := step(t, s, "pencil", false, "", true); err != nil {
		t.Fatal(err)
	}
	if f.got.Username != "user" || f.got.Password != "pencil" || f.got.Mechanism != Login {
		t.Errorf("LOGIN credential: got %+v", f.got)
	}
	// The user name as initial response (draft-murchison-sasl-login §2.1).
	s, _ = New(ctx, Login, f)
	if err := step(t, s, "user", false, "Password:", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next([]byte("nope")); !errors.Is(err, errBad) {
		t.Errorf("LOGIN wrong password: got %v", err)
	}
	if _, err := New(ctx, "CRAM-MD5", f); !errors.Is(err, ErrUnsupported) {
		t.Errorf("CRAM-MD5: got %v; want ErrUnsupported", err)
	}
}

func TestOAuth(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	// XOAUTH2, Google's format.
	s, _ := New(ctx, XOAuth2, f)
	if err := step(t, s, "user=christa@contoso.com\x01auth=Bearer good\x01\x01", false, "", true); err != nil {
		t.Fatal(err)
	}
	if f.got.Username != "christa@contoso.com" || f.got.Token != "good" || f.got.Basic() {
		t.Errorf("XOAUTH2 credential: got %+v", f.got)
	}
	// A refused token: the JSON error challenge, then the failure after
	// the client's empty answer.
	s, _ = New(ctx, XOAuth2, f)
	if err := step(t, s, "user=x\x01auth=Bearer bad\x01\x01", false, `{"status":"401","schemes":"bearer"}`, false); err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.Next([]byte{}); !done || !errors.Is(err, errBad) {
		t.Errorf("after the error challenge: got done=%v err=%v", done, err)
	}

	// OAUTHBEARER (RFC 7628 §4.1's example layout).
	s, _ = New(ctx, OAuthBearer, f)
	if err := step(t, s, "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer good\x01\x01", false, "", true); err != nil {
		t.Fatal(err)
	}
	if f.got.Username != "user@example.com" || f.got.Token != "good" {
		t.Errorf("OAUTHBEARER credential: got %+v", f.got)
	}
	s, _ = New(ctx, OAuthBearer, f)
	if err := step(t, s, "n,,\x01auth=Bearer bad\x01\x01", false, `{"status":"invalid_token","schemes":"bearer"}`, false); err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.Next([]byte{1}); !done || !errors.Is(err, errBad) {
		t.Errorf("after the dummy response: got done=%v err=%v", done, err)
	}
	// An empty dummy response must not panic (go-sasl's server indexes it).
	s, _ = New(ctx, OAuthBearer, f)
	s.Next([]byte("n,,\x01auth=Bearer bad\x01\x01"))
	if _, _, err := s.Next([]byte{}); !errors.Is(err, errBad) {
		t.Errorf("empty dummy response: got %v", err)
	}
	for _, bad := range []string{"", "n,,", "n,,\x01auth=Basic abc\x01\x01", "p=x,,\x01auth=Bearer good\x01\x01",
		"n,b=x,\x01auth=Bearer good\x01\x01", "n,,auth=Bearer good", "n,,\x01host\x01\x01"} {
		s, _ = New(ctx, OAuthBearer, f)
		var pe *ProtocolError
		if _, _, err := s.Next([]byte(bad)); !errors.As(err, &pe) {
			t.Errorf("OAUTHBEARER %q: got %v; want a protocol error", bad, err)
		}
	}
	for _, bad := range []string{"", "user=x", "user=x\x01auth=Bearer\x01\x01", "junk"} {
		s, _ = New(ctx, XOAuth2, f)
		var pe *ProtocolError
		if _, _, err := s.Next([]byte(bad)); !errors.As(err, &pe) {
			t.Errorf("XOAUTH2 %q: got %v; want a protocol error", bad, err)
		}
	}
}

// FuzzMechanisms feeds arbitrary responses to every mechanism: no panic,
// and a finished exchange stays finished.
func FuzzMechanisms(f *testing.F) {
	f.Add("n,,n=user,r=abc", "c=biws,r=abcSRV,p=AAAA")
	f.Add("\x00user\x00pencil", "")
	f.Add("n,,\x01auth=Bearer bad\x01\x01", "\x01")
	f.Fuzz(func(t *testing.T, a, b string) {
		fa := &fakeAuth{}
		for _, m := range []string{Plain, Login, ScramSHA256, XOAuth2, OAuthBearer} {
			s, err := New(context.Background(), m, fa)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{a, b, a} {
				if _, done, _ := s.Next([]byte(r)); done {
					break
				}
			}
		}
	})
}
