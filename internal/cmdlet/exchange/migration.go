package exchange

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The IMAP migration cmdlets, as Exchange names and shapes them
// (New-MigrationEndpoint -IMAP, New-MigrationBatch -CSVData, ...).

func migrationCmdlets() []*cmdlet.Cmdlet {
	return []*cmdlet.Cmdlet{
		newMigrationEndpoint(), getMigrationEndpoint(), setMigrationEndpoint(), removeMigrationEndpoint(), testMigrationServerAvailability(),
		newMigrationBatch(), getMigrationBatch(),
		batchAction("Start-MigrationBatch", client.StartMigrationBatch, "Starts a migration batch, or syncs a Synced batch again now.",
			"Starts a batch that is Created, Stopped or Failed (its failed users are tried again), or syncs a Synced batch now rather than at its next daily sync."),
		batchAction("Stop-MigrationBatch", client.StopMigrationBatch, "Stops a migration batch.",
			"Stops a batch: the sync under way ends after the step it is in (what was copied stays, and Start-MigrationBatch goes on from there)."),
		batchAction("Complete-MigrationBatch", client.CompleteMigrationBatch, "Completes a Synced migration batch.",
			"Runs a last sync of a Synced batch and completes it: the source passwords are deleted and the batch syncs no more."),
		removeMigrationBatch(),
		getMigrationUser("Get-MigrationUser", client.MigrationUsers, "Gets the users of migration batches and their status."),
		getMigrationUser("Get-MigrationUserStatistics", client.MigrationUserStatistics,
			"Gets the progress of migration users: items synced and skipped (with the reasons), bytes, last sync, errors, folders."),
	}
}

var securityEnum = []string{"None", "Ssl", "Tls"}

// trustedCertificateParam is -TrustedCertificate, a Gatehouse extension
// (Exchange Online trusts only public CAs).
func trustedCertificateParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "TrustedCertificate", Type: cmdlet.TAny, TypeName: "Byte[]",
		Help: "Gatehouse extension: the CA certificate(s) of the server, PEM, trusted besides the system roots for Ssl and Tls: " +
			"([System.IO.File]::ReadAllBytes(\"ca.pem\")). For an old server with a private CA or a self-signed certificate. " +
			"Refused when it is not PEM, not a certificate, or expired; a server certificate that does not chain to it still fails with the TLS reason."}
}

// trustedCertificate reads -TrustedCertificate: set is false when it was
// not given.
func trustedCertificate(c *cmdlet.Call) (data []byte, set bool, err error) {
	v, ok := c.Get("TrustedCertificate")
	if !ok {
		return nil, false, nil
	}
	if v == nil {
		return []byte{}, true, nil
	}
	data, err = byteArg(v)
	if err != nil {
		return nil, true, fmt.Errorf("Cannot bind parameter 'TrustedCertificate'. %v", err)
	}
	return data, true, nil
}

func newMigrationEndpoint() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "New-MigrationEndpoint", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MigrationEndpoint",
		Synopsis:    "Creates an IMAP migration endpoint: the server mailboxes are moved from.",
		Description: "Creates the connection settings of an IMAP server to migrate from. The server is tried first (unless -SkipVerification).",
		Params: []*cmdlet.Param{
			{Name: "IMAP", Type: cmdlet.TSwitch, Mandatory: true, Help: "An IMAP endpoint (the only kind Gatehouse has)."},
			{Name: "Name", Type: cmdlet.TString, Mandatory: true, Help: "The endpoint's unique name."},
			{Name: "RemoteServer", Type: cmdlet.TString, Mandatory: true, Help: "The IMAP server's host name or IP address."},
			{Name: "Port", Type: cmdlet.TInt, Help: "The TCP port: 993 with Ssl, 143 otherwise, by default."},
			{Name: "Security", Type: cmdlet.TEnum, Enum: securityEnum, Help: "Ssl (implicit TLS, the default), Tls (STARTTLS) or None."},
			{Name: "Authentication", Type: cmdlet.TEnum, Enum: []string{"Basic"}, Help: "Basic (user name and password)."},
			{Name: "MaxConcurrentMigrations", Type: cmdlet.TInt, Help: "How many users of a batch are copied at once (20 by default)."},
			trustedCertificateParam(),
			{Name: "SkipVerification", Type: cmdlet.TSwitch, Help: "Creates the endpoint without trying the server."},
		},
		Examples: []cmdlet.Example{
			{Code: "New-MigrationEndpoint -IMAP -Name Old -RemoteServer imap.fabrikam.com -Port 993 -Security Ssl",
				Remarks: "An endpoint for the IMAP server imap.fabrikam.com."},
			{Code: "New-MigrationEndpoint -IMAP -Name Old -RemoteServer imap.fabrikam.com -Security Ssl -TrustedCertificate ([System.IO.File]::ReadAllBytes(\"ca.pem\"))",
				Remarks: "An endpoint for a server whose certificate a private CA signed (Gatehouse extension)."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				trust, _, err := trustedCertificate(c)
				if err != nil {
					return c.WriteError(err.Error())
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				body := wire.NewMigrationEndpointBody{Name: c.String("Name"), RemoteServer: c.String("RemoteServer"),
					Security: c.String("Security"), Authentication: c.String("Authentication"), TrustedCertificate: trust,
					SkipVerification: c.Switch("SkipVerification")}
				if v, ok := c.Int("Port"); ok {
					body.Port = int(v)
				}
				if v, ok := c.Int("MaxConcurrentMigrations"); ok {
					body.MaxConcurrentMigrations = int(v)
				}
				e, err := cl.NewMigrationEndpoint(ctx, body)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeMigrationEndpoint, e))
			}}
		},
	}
}

func getMigrationEndpoint() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-MigrationEndpoint", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MigrationEndpoint",
		Synopsis: "Gets migration endpoints.",
		Description: "Gets one endpoint by -Identity, or the endpoints by name, up to -ResultSize (1000 by default; Unlimited for all). " +
			"TrustedCertificates names the CA certificates given with -TrustedCertificate.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "MigrationEndpointIdParameter", FromPipelineByName: true, Help: "The endpoint's name."},
			resultSizeParam(),
		},
		Examples: []cmdlet.Example{{Code: "Get-MigrationEndpoint", Remarks: "Lists the endpoints."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				return getOneOrPage(ctx, c, client.MigrationEndpoints, nil)
			}}
		},
	}
}

// getOneOrPage gets one object by -Identity, or the collection up to
// -ResultSize with Exchange's warning when more exist; q holds more of
// the list's query (-BatchId).
func getOneOrPage[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], q url.Values) error {
	if id := c.String("Identity"); id != "" {
		return getOne(ctx, c, coll, id)
	}
	return listLimited(ctx, c, coll, q, objectView(coll))
}

func setMigrationEndpoint() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Set-MigrationEndpoint", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis: "Changes an IMAP migration endpoint.",
		Description: "Changes the server, port, security, concurrency or trusted CA certificates of an endpoint. The server is tried with the new " +
			"settings first (unless -SkipVerification). A batch syncing goes on with the settings it started with; its next sync uses the new ones. " +
			"-TrustedCertificate $null trusts the system roots only again.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "MigrationEndpointIdParameter", FromPipeline: true, FromPipelineByName: true, Help: "The endpoint's name."},
			{Name: "RemoteServer", Type: cmdlet.TString, Help: "The IMAP server's host name or IP address."},
			{Name: "Port", Type: cmdlet.TInt, Help: "The TCP port."},
			{Name: "Security", Type: cmdlet.TEnum, Enum: securityEnum, Help: "Ssl (implicit TLS), Tls (STARTTLS) or None."},
			{Name: "MaxConcurrentMigrations", Type: cmdlet.TInt, Help: "How many users of a batch are copied at once."},
			trustedCertificateParam(),
			{Name: "SkipVerification", Type: cmdlet.TSwitch, Help: "Changes the endpoint without trying the server."},
		},
		Examples: []cmdlet.Example{{Code: "Set-MigrationEndpoint Old -TrustedCertificate ([System.IO.File]::ReadAllBytes(\"ca.pem\"))",
			Remarks: "Trusts the CA in ca.pem for the endpoint Old (Gatehouse extension)."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				trust, setTrust, err := trustedCertificate(c)
				if err != nil {
					return c.WriteError(err.Error())
				}
				if ok, err := c.ShouldProcess(id, "Set-MigrationEndpoint"); err != nil || !ok {
					return err
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				body := wire.SetMigrationEndpointBody{SkipVerification: c.Switch("SkipVerification")}
				if c.Has("RemoteServer") {
					v := c.String("RemoteServer")
					body.RemoteServer = &v
				}
				if c.Has("Security") {
					v := c.String("Security")
					body.Security = &v
				}
				if v, ok := c.Int("Port"); ok {
					n := int(v)
					body.Port = &n
				}
				if v, ok := c.Int("MaxConcurrentMigrations"); ok {
					n := int(v)
					body.MaxConcurrentMigrations = &n
				}
				if setTrust {
					body.TrustedCertificate = &trust
				}
				if _, err := cl.SetMigrationEndpoint(ctx, id, body); err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return nil
			}}
		},
	}
}

func removeMigrationEndpoint() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-MigrationEndpoint", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis: "Removes a migration endpoint that no batch uses.",
		Params:   []*cmdlet.Param{{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "MigrationEndpointIdParameter", FromPipeline: true, FromPipelineByName: true, Help: "The endpoint's name."}},
		Examples: []cmdlet.Example{{Code: "Remove-MigrationEndpoint Old -Confirm:$false", Remarks: "Removes the endpoint Old."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if ok, err := c.ShouldProcess(id, "Remove-MigrationEndpoint"); err != nil || !ok {
					return err
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				if err := cl.RemoveMigrationEndpoint(ctx, id); err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return nil
			}}
		},
	}
}

func testMigrationServerAvailability() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Test-MigrationServerAvailability", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.ServerAvailability",
		Synopsis:    "Tests whether an IMAP server can be migrated from.",
		Description: "Connects to the IMAP server (and signs in when -Credentials are given) and answers Result: Success or Failed, with the reason.",
		Params: []*cmdlet.Param{
			{Name: "IMAP", Type: cmdlet.TSwitch, Mandatory: true, Help: "Test an IMAP server."},
			{Name: "RemoteServer", Type: cmdlet.TString, Mandatory: true, Help: "The IMAP server's host name or IP address."},
			{Name: "Port", Type: cmdlet.TInt, Help: "The TCP port: 993 with Ssl, 143 otherwise, by default."},
			{Name: "Security", Type: cmdlet.TEnum, Enum: securityEnum, Help: "Ssl (the default), Tls or None."},
			trustedCertificateParam(),
			{Name: "Credentials", Type: cmdlet.TAny, TypeName: "PSCredential", Help: "A source user to sign in as: (Get-Credential) or [pscredential]::new('user', $secure)."},
		},
		Examples: []cmdlet.Example{{Code: "Test-MigrationServerAvailability -IMAP -RemoteServer imap.fabrikam.com -Port 993 -Security Ssl", Remarks: "Is the server there?"}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				trust, _, err := trustedCertificate(c)
				if err != nil {
					return c.WriteError(err.Error())
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				body := wire.TestMigrationServerBody{RemoteServer: c.String("RemoteServer"), Security: c.String("Security"), TrustedCertificate: trust}
				if v, ok := c.Int("Port"); ok {
					body.Port = int(v)
				}
				if v, ok := c.Get("Credentials"); ok && v != nil {
					user, pw, ok := cmdlet.CredentialParts(v)
					if cred, isObj := v.(*cmdlet.Object); !ok || !isObj || cred.TypeName != cmdlet.PSCredentialType {
						return c.WriteError("Cannot bind parameter 'Credentials': give a PSCredential, e.g. (Get-Credential).")
					}
					body.UserName, body.Password = user, pw.Plain()
				}
				res, err := cl.TestMigrationServerAvailability(ctx, body)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeServerAvailability, res))
			}}
		},
	}
}

// byteArg takes a Byte[] parameter (-CSVData, -TrustedCertificate) as
// [System.IO.File]::ReadAllBytes gives it (a byte[]), as Get-Content
// -AsByteStream gives it (numbers), or as text.
func byteArg(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case []any:
		out := make([]byte, 0, len(x))
		for _, e := range x {
			n, ok := e.(int64)
			if !ok {
				if i, ok2 := e.(int); ok2 {
					n, ok = int64(i), true
				}
			}
			if !ok || n < 0 || n > 255 {
				return nil, fmt.Errorf("Cannot convert value to type System.Byte[]: the array holds %v", e)
			}
			out = append(out, byte(n))
		}
		return out, nil
	}
	return nil, fmt.Errorf("Cannot convert value of type %T to type System.Byte[]: use ([System.IO.File]::ReadAllBytes(\"file\"))", v)
}

func newMigrationBatch() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "New-MigrationBatch", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MigrationBatch",
		Synopsis: "Creates an IMAP migration batch from a CSV file.",
		Description: "Creates a batch of mailboxes to copy from the IMAP server of -SourceEndpoint. The CSV file has the columns EmailAddress " +
			"(a Gatehouse mailbox), UserName (the login at the source; admin*user for a master user where the source supports it) and Password. " +
			"The whole file is checked first: unknown columns, addresses that are not mailboxes here, mailboxes already in a batch, missing values; " +
			"every bad row is named and nothing is created. -AutoStart starts the batch at once.",
		Params: []*cmdlet.Param{
			{Name: "Name", Type: cmdlet.TString, Mandatory: true, Help: "The batch's unique name."},
			{Name: "SourceEndpoint", Type: cmdlet.TIdentity, TypeName: "MigrationEndpointIdParameter", Mandatory: true, Help: "The IMAP endpoint to migrate from."},
			{Name: "CSVData", Type: cmdlet.TAny, TypeName: "Byte[]", Mandatory: true, Help: "The CSV file: ([System.IO.File]::ReadAllBytes(\"users.csv\"))."},
			{Name: "ExcludeFolders", Type: cmdlet.TStrings, Help: "Folders not to copy (with their subfolders), by their name at the source or here."},
			{Name: "AutoStart", Type: cmdlet.TSwitch, Help: "Starts the batch at once."},
		},
		Examples: []cmdlet.Example{{Code: "New-MigrationBatch -Name B1 -SourceEndpoint Old -CSVData ([System.IO.File]::ReadAllBytes(\"users.csv\")) -AutoStart",
			Remarks: "Creates and starts the batch B1 of the users in users.csv."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				v, _ := c.Get("CSVData")
				data, err := byteArg(v)
				if err != nil {
					return c.WriteError(err.Error())
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				body := wire.NewMigrationBatchBody{Name: c.String("Name"), SourceEndpoint: c.String("SourceEndpoint"), CSVData: data,
					AutoStart: c.Switch("AutoStart")}
				if f := c.Strings("ExcludeFolders"); len(f) > 0 {
					body.ExcludeFolders = f
				}
				b, err := cl.NewMigrationBatch(ctx, body)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeMigrationBatch, b))
			}}
		},
	}
}

func batchIdentity() *cmdlet.Param {
	return &cmdlet.Param{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "MigrationBatchIdParameter",
		FromPipeline: true, FromPipelineByName: true, Help: "The batch's name."}
}

func getMigrationBatch() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-MigrationBatch", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MigrationBatch",
		Synopsis:    "Gets migration batches and their status.",
		Description: "Shows each batch's Status (Created, Syncing, Synced, Stopped, Completing, Completed, Failed) and how many of its users are in each state.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "MigrationBatchIdParameter", FromPipelineByName: true, Help: "The batch's name."},
			resultSizeParam(),
		},
		Examples: []cmdlet.Example{{Code: "Get-MigrationBatch B1 | Format-List", Remarks: "Everything about the batch B1."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				return getOneOrPage(ctx, c, client.MigrationBatches, nil)
			}}
		},
	}
}

func batchAction(name string, action client.MigrationBatchAction, synopsis, description string) *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: name, Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis: synopsis, Description: description,
		Params:   []*cmdlet.Param{batchIdentity()},
		Examples: []cmdlet.Example{{Code: name + " -Identity B1", Remarks: synopsis}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if ok, err := c.ShouldProcess(id, name); err != nil || !ok {
					return err
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				if err := cl.MigrationBatchDo(ctx, id, action); err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return nil
			}}
		},
	}
}

func removeMigrationBatch() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-MigrationBatch", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Removes a migration batch that is not syncing.",
		Description: "Removes the batch, its users and their progress. The mail already copied stays in the mailboxes.",
		Params:      []*cmdlet.Param{batchIdentity()},
		Examples:    []cmdlet.Example{{Code: "Remove-MigrationBatch B1 -Confirm:$false", Remarks: "Removes the batch B1."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if ok, err := c.ShouldProcess(id, "Remove-MigrationBatch"); err != nil || !ok {
					return err
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				if err := cl.RemoveMigrationBatch(ctx, id); err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return nil
			}}
		},
	}
}

func getMigrationUser(name string, coll client.Collection[wire.MigrationUser], synopsis string) *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: name, Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MigrationUser",
		Synopsis: synopsis,
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "MigrationUserIdParameter", FromPipelineByName: true, Help: "The user's email address."},
			{Name: "BatchId", Type: cmdlet.TIdentity, TypeName: "MigrationBatchIdParameter", Help: "The users of this batch."},
			resultSizeParam(),
		},
		Examples: []cmdlet.Example{{Code: name + " -BatchId B1", Remarks: "The users of the batch B1."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				q := url.Values{}
				if b := c.String("BatchId"); b != "" {
					q.Set("batchId", b)
				}
				return getOneOrPage(ctx, c, coll, q)
			}}
		},
	}
}
