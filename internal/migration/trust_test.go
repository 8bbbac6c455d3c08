package migration_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/testcert"
)

// testCA returns a self-signed CA certificate (PEM) valid from notBefore
// to notAfter, and its private key (PEM).
func testCA(t testing.TB, name string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	c := testcert.New(t, &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}, nil)
	return c.CertPEM, c.KeyPEM
}

// TestParseTrustedCertificates checks what -TrustedCertificate takes and
// the refusals in words: not PEM, not a certificate (a private key is
// never taken), a block that does not parse, expired, not yet valid.
func TestParseTrustedCertificates(t *testing.T) {
	now := time.Now()
	good, key := testCA(t, "Fabrikam Root CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	other, _ := testCA(t, "Fabrikam Issuing CA", now.Add(-time.Hour), now.Add(30*24*time.Hour))
	expired, _ := testCA(t, "Old CA", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future, _ := testCA(t, "Future CA", now.Add(24*time.Hour), now.Add(48*time.Hour))
	for _, tc := range []struct {
		name  string
		data  []byte
		certs int
		err   string
	}{
		{name: "one CA", data: good, certs: 1},
		{name: "two CAs with text around, as openssl x509 -text writes", data: []byte("Certificate:\n    Subject: CN=Fabrikam Root CA\n" + string(good) + "\n" + string(other) + "trailing words\n"), certs: 2},
		{name: "empty", data: []byte("  \n"), err: "the trusted certificate data is empty"},
		{name: "not PEM", data: []byte("MIIBszCCAVmgAwIBAgIBBzAKBggqhkjOPQQDAjAbMRkwFwYDVQQDExBGYWJyaWthbSBSb290"), err: "is not PEM: no -----BEGIN CERTIFICATE----- block found"},
		{name: "DER bytes", data: mustDER(t, good), err: "is not PEM"},
		{name: "a private key", data: key, err: "is not a certificate: PEM block 1 is \"EC PRIVATE KEY\""},
		{name: "a certificate then a key", data: append(append([]byte{}, good...), key...), err: "PEM block 2 is \"EC PRIVATE KEY\""},
		{name: "a block that does not parse", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}), err: "PEM block 1 does not parse"},
		{name: "expired", data: expired, err: `the trusted certificate "CN=Old CA" expired on ` + now.Add(-24*time.Hour).UTC().Format(time.DateOnly)},
		{name: "not yet valid", data: future, err: `the trusted certificate "CN=Future CA" is not valid before`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := migration.ParseTrustedCertificates(tc.data, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v; want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tc.certs {
				t.Fatalf("got %d certificates; want %d", len(certs), tc.certs)
			}
			d := migration.DescribeCertificates(certs)
			if want := "CN=Fabrikam Root CA (expires " + now.Add(365*24*time.Hour).UTC().Format(time.DateOnly) + ")"; d[0] != want {
				t.Errorf("described as %q; want %q", d[0], want)
			}
		})
	}
}

func mustDER(t *testing.T, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
