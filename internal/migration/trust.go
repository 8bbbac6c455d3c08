package migration

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ParseTrustedCertificates reads the CA certificates an endpoint trusts
// besides the system roots (New-MigrationEndpoint -TrustedCertificate, a
// Gatehouse extension): one or more PEM "CERTIFICATE" blocks; text around
// the blocks (as openssl x509 -text writes it) is allowed. It refuses, in
// words, data without a PEM block, a block that is not a certificate (a
// private key above all, which must never be stored), a certificate that
// does not parse, and one that is expired or not yet valid at now: such a
// CA could only ever make the TLS handshake fail later, with a reason
// harder to read.
func ParseTrustedCertificates(data []byte, now time.Time) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("the trusted certificate data is not a certificate: PEM block %d is %q; give the CA certificate (-----BEGIN CERTIFICATE-----)", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the trusted certificate data is not a certificate: PEM block %d does not parse: %v", n, err)
		}
		switch {
		case now.After(c.NotAfter):
			return nil, fmt.Errorf("the trusted certificate %q expired on %s", c.Subject.String(), c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			return nil, fmt.Errorf("the trusted certificate %q is not valid before %s", c.Subject.String(), c.NotBefore.UTC().Format(time.DateOnly))
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, errors.New("the trusted certificate data is empty")
		}
		return nil, errors.New("the trusted certificate data is not PEM: no -----BEGIN CERTIFICATE----- block found (a DER file converts with: openssl x509 -inform der -in ca.cer -out ca.pem)")
	}
	return out, nil
}

// DescribeCertificates names each certificate by its subject and expiry,
// as Get-MigrationEndpoint shows an endpoint's trusted certificates.
func DescribeCertificates(certs []*x509.Certificate) []string {
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		out = append(out, fmt.Sprintf("%s (expires %s)", c.Subject.String(), c.NotAfter.UTC().Format(time.DateOnly)))
	}
	return out
}

// rootsWith returns the system roots (or base, when set) with certs added.
func rootsWith(base *x509.CertPool, certs []*x509.Certificate) *x509.CertPool {
	var pool *x509.CertPool
	switch sys, err := x509.SystemCertPool(); {
	case base != nil:
		pool = base.Clone()
	case err == nil:
		pool = sys
	default:
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}
