package auth

import (
	"encoding/base64"
	"testing"
)

// TestSCRAMKeys checks the keys against RFC 7677 §3's example (user "user",
// password "pencil"), the stored form's round trip, and the proof check.
func TestSCRAMKeys(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	k, err := DeriveSCRAMKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	authMessage := []byte("n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig, ok := k.VerifySCRAM(authMessage, proof)
	if !ok {
		t.Fatal("RFC 7677 proof refused")
	}
	if got := base64.StdEncoding.EncodeToString(sig); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature: got %s; want RFC 7677's", got)
	}
	proof[0] ^= 1
	if _, ok := k.VerifySCRAM(authMessage, proof); ok {
		t.Error("a changed proof was accepted")
	}
	back, err := ParseSCRAMKeys(k.String())
	if err != nil || back.String() != k.String() {
		t.Errorf("round trip: got %v, %v", back, err)
	}
	for _, bad := range []string{"SCRAM-SHA-256$x:AA==$AA==:AA==", "PLAIN$1:AA==$AA==:AA==", "SCRAM-SHA-256$4096:AA==$AA==:AA=="} {
		if _, err := ParseSCRAMKeys(bad); err == nil {
			t.Errorf("ParseSCRAMKeys(%q): no error", bad)
		}
	}
	if _, err := ParseSCRAMKeys(""); err != ErrNoSCRAMKeys {
		t.Errorf("empty: got %v; want ErrNoSCRAMKeys", err)
	}
	nk, err := NewSCRAMKeys("pencil")
	if err != nil || nk.Iterations != SCRAMIterations || len(nk.Salt) != 16 {
		t.Errorf("NewSCRAMKeys: got %+v, %v", nk, err)
	}
}
