package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
)

// loadOrCreateTLS loads the configured certificate, or the self-signed one
// in the data directory, generating it on first start.
func loadOrCreateTLS(cfg config.Config, log *slog.Logger) (*tls.Config, error) {
	certFile, keyFile := cfg.TLS.Cert, cfg.TLS.Key
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.Data, "tls-cert.pem"), filepath.Join(cfg.Data, "tls-key.pem")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := writeSelfSigned(certFile, keyFile, cfg.Domain); err != nil {
				return nil, fmt.Errorf("generate TLS certificate: %w", err)
			}
			log.Info("generated a self-signed TLS certificate", "cert", certFile)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s: %w", certFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func writeSelfSigned(certFile, keyFile, domain string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	host, _ := os.Hostname()
	names := []string{"localhost", "mail." + domain}
	if host != "" {
		names = append(names, host)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gatehouse self-signed (" + domain + ")", Organization: []string{"Gatehouse"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// adminTLSConfig returns the admin listener's TLS configuration: its own
// certificate when admin.tls_cert names one, else the mail certificate.
func adminTLSConfig(cfg config.Config, mail *tls.Config) (*tls.Config, error) {
	if cfg.Admin.Cert == "" {
		return mail.Clone(), nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.Admin.Cert, cfg.Admin.Key)
	if err != nil {
		return nil, fmt.Errorf("admin tls certificate %s: %w", cfg.Admin.Cert, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate in the
// form openssl x509 -fingerprint -sha256 prints: upper-case hex pairs
// joined by colons. gatehouse shell --fingerprint takes it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// selfSigned returns the leaf certificate of c when it signed itself (no
// client can trust it without pinning it), or nil.
func selfSigned(c *tls.Config) *x509.Certificate {
	if c == nil || len(c.Certificates) == 0 || len(c.Certificates[0].Certificate) == 0 {
		return nil
	}
	leaf := c.Certificates[0].Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificates[0].Certificate[0]); err != nil {
			return nil
		}
	}
	// Not CheckSignatureFrom: the generated certificate is no CA.
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) ||
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return nil
	}
	return leaf
}
