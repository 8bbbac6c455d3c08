-- trusted_certificates: the CA certificates (PEM) an IMAP migration
-- endpoint trusts besides the system roots (New-MigrationEndpoint
-- -TrustedCertificate), so that an old server with a private CA can be
-- migrated without changing the machine's trust store. '' trusts only the
-- system roots. Certificates only: the service refuses anything else, a
-- private key above all, before it is written here.
ALTER TABLE migration_endpoints ADD COLUMN trusted_certificates TEXT NOT NULL DEFAULT ''
;
