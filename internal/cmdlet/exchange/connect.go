package exchange

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// Connect-ExchangeOnline signs in from inside the shell, as Exchange
// admins do at the top of every script: to -ConnectionUri (else the
// server the shell was started with, else GATEHOUSE_SERVER) as
// -UserPrincipalName or -Credential's user, asking for the password on a
// terminal when no -Credential gives it.

// credentialParts reads a -Credential argument.
func credentialParts(v any) (string, *cmdlet.SecureString, bool) {
	return cmdlet.CredentialParts(v)
}

func nonInteractive(cmd, what string) error {
	return &cmdlet.Error{Source: cmd, Msg: "PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. " + what}
}

func connectExchangeOnline() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Connect-ExchangeOnline", Source: cmdlet.SrcGate, OutputType: "None",
		Synopsis:    "Signs in to a Gatehouse server from inside the shell.",
		Description: "Connects the shell to the admin REST API of -ConnectionUri (else the server the shell was started with, or GATEHOUSE_SERVER) as -UserPrincipalName, or as the user of -Credential (Get-Credential). Without -Credential the password is asked for without echo on a terminal, or read from GATEHOUSE_PASSWORD. The cmdlets that follow work on that server.",
		Params: []*cmdlet.Param{
			{Name: "ConnectionUri", Aliases: []string{"Server"}, Type: cmdlet.TString, Help: "The URL of the server's admin listener, e.g. https://mail.contoso.com:8443."},
			{Name: "UserPrincipalName", Aliases: []string{"UPN", "UserName"}, Type: cmdlet.TString, Help: "The administrator to sign in as."},
			{Name: "Credential", Type: cmdlet.TAny, TypeName: cmdlet.PSCredentialType, Help: "User name and password, from Get-Credential."},
			{Name: "ShowBanner", Type: cmdlet.TSwitch, Help: "-ShowBanner:$false signs in without the line saying where."},
			{Name: "Organization", Type: cmdlet.TString, Help: "Accepted for scripts written for Exchange Online; Gatehouse serves one organization."},
			{Name: "ShowProgress", Type: cmdlet.TBool, Help: "Accepted for scripts written for Exchange Online."},
		},
		Examples: []cmdlet.Example{
			{Code: "Connect-ExchangeOnline -ConnectionUri https://mail.contoso.com:8443 -UserPrincipalName admin", Remarks: "Signs in as admin; the password is asked for."},
			{Code: "$cred = Get-Credential admin; Connect-ExchangeOnline -Credential $cred -ShowBanner:$false", Remarks: "Signs in with a credential asked for once."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				s := c.Session()
				opts := s.ConnectOptions()
				opts.Password = ""
				if u := c.String("ConnectionUri"); u != "" {
					opts.Server = u
				}
				if opts.Server == "" {
					opts.Server = os.Getenv("GATEHOUSE_SERVER")
				}
				if opts.Server == "" {
					return &cmdlet.Error{Source: c.Cmdlet.Name, Msg: "No server to connect to: give -ConnectionUri with the URL of the server's admin listener, e.g. https://mail.contoso.com:8443."}
				}
				sameUser := true
				if u := c.String("UserPrincipalName"); u != "" {
					sameUser = strings.EqualFold(u, opts.User)
					opts.User = u
				}
				if v, ok := c.Get("Credential"); ok && v != nil {
					user, pw, ok := credentialParts(v)
					if !ok {
						return &cmdlet.Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot process argument transformation on parameter 'Credential'. A %s is needed: use Get-Credential.", cmdlet.PSCredentialType)}
					}
					sameUser = false
					opts.User, opts.Password = user, pw.Plain()
				}
				if opts.User == "" {
					if s.Host().Prompt == nil {
						return nonInteractive(c.Cmdlet.Name, "Give -UserPrincipalName or -Credential.")
					}
					u, err := s.Host().Prompt("User: ", false)
					if err != nil {
						return err
					}
					opts.User = strings.TrimSpace(u)
				}
				if opts.Password == "" && sameUser && strings.EqualFold(opts.Server, s.ConnectOptions().Server) {
					opts.Password = s.ConnectOptions().Password
				}
				if opts.Password == "" {
					if s.Host().Prompt != nil {
						pw, err := s.Host().Prompt(fmt.Sprintf("Password for %s: ", opts.User), true)
						if err != nil {
							return err
						}
						opts.Password = pw
					} else {
						opts.Password = os.Getenv("GATEHOUSE_PASSWORD")
					}
				}
				if opts.Password == "" {
					return nonInteractive(c.Cmdlet.Name, "Give -Credential (Get-Credential), or set GATEHOUSE_PASSWORD.")
				}
				conn, err := client.New(opts)
				if err != nil {
					return &cmdlet.Error{Source: c.Cmdlet.Name, Msg: cmdlet.APIMessage(err), Err: err}
				}
				if err := conn.Login(ctx); err != nil {
					// as the EXO module throws: a script does not go on
					// to run its changes unconnected
					return cmdlet.Throw(&cmdlet.Error{Source: c.Cmdlet.Name, Msg: cmdlet.APIMessage(err), Err: err})
				}
				s.SetAPI(conn, opts)
				if v, ok := c.Get("ShowBanner"); !ok || v == true {
					s.WriteHost(fmt.Sprintf("Connected to %s as %s.", conn.URL(), opts.User))
				}
				return nil
			}}
		},
	}
}

func disconnectExchangeOnline() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Disconnect-ExchangeOnline", Source: cmdlet.SrcGate, OutputType: "None",
		Synopsis:    "Signs out of the Gatehouse server.",
		Description: "Forgets the connection; the Exchange cmdlets fail until Connect-ExchangeOnline signs in again.",
		Params: []*cmdlet.Param{
			{Name: "Confirm", Type: cmdlet.TSwitch, Help: "Accepted for scripts written for Exchange Online (-Confirm:$false); nothing is asked."},
		},
		Examples: []cmdlet.Example{{Code: "Disconnect-ExchangeOnline -Confirm:$false", Remarks: "Signs out at the end of a script."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				c.Session().SetAPI(nil, c.Session().ConnectOptions())
				return nil
			}}
		},
	}
}

func getCredential() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-Credential", Source: "Microsoft.PowerShell.Security", OutputType: cmdlet.PSCredentialType,
		Synopsis:    "Asks for a user name and password and returns them as a credential.",
		Description: "Asks on the terminal (the password without echo) and writes a PSCredential for -Credential parameters such as Connect-ExchangeOnline's. Without a terminal it fails.",
		Params: []*cmdlet.Param{
			{Name: "UserName", Aliases: []string{"Credential"}, Type: cmdlet.TString, Position: 1, Help: "The user name; asked for when left out."},
			{Name: "Message", Type: cmdlet.TString, Help: "A line to show before asking."},
		},
		Examples: []cmdlet.Example{{Code: "$cred = Get-Credential admin", Remarks: "Asks for admin's password."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				s := c.Session()
				if s.Host().Prompt == nil {
					return nonInteractive(c.Cmdlet.Name, "Get-Credential needs a terminal.")
				}
				if m := c.String("Message"); m != "" {
					s.WriteHost(m)
				}
				user := c.String("UserName")
				if user == "" {
					u, err := s.Host().Prompt("User: ", false)
					if err != nil {
						return err
					}
					user = strings.TrimSpace(u)
				}
				pw, err := s.Host().Prompt(fmt.Sprintf("Password for user %s: ", user), true)
				if err != nil {
					return err
				}
				return c.Emit(cmdlet.NewCredential(user, cmdlet.NewSecureString(pw)))
			}}
		},
	}
}
