package cmdlet

import (
	"context"
	"sort"
	"strings"
)

// ParamType is the type a parameter converts its argument to.
type ParamType int

// The parameter types.
const (
	TAny          ParamType = iota // passed as is
	TString                        // text
	TStrings                       // text[]
	TBool                          // $true/$false, numbers; "true"/"false"
	TSwitch                        // present or -Name:$false
	TInt                           // whole number
	TDateTime                      // a date
	TScriptBlock                   // { ... }
	TSecureString                  // ConvertTo-SecureString output, or text
	THashtable                     // @{ ... }
	TResultSize                    // a number or Unlimited
	TIdentity                      // an identity: text, or an object's Identity/Guid/Name
	TEnum                          // one of Param.Enum
	TProperties                    // names (wildcards), @{ n=; e= } or { } (Select-Object, Format-Table)
	TFilter                        // an OPATH filter: text or { ... }
)

// Param describes one parameter of a cmdlet.
type Param struct {
	Name    string
	Aliases []string
	Type    ParamType
	// TypeName overrides the .NET type name shown in help and messages.
	TypeName string
	Enum     []string
	// Position is the 1-based position of a positional parameter; 0 means
	// named only.
	Position           int
	Mandatory          bool
	FromPipeline       bool // takes the pipeline object itself
	FromPipelineByName bool // takes the pipeline object's property of the same name
	// Remaining takes all positional arguments left over
	// (ValueFromRemainingArguments), as Write-Host does.
	Remaining bool
	// Nullable lets a TBool parameter take $null
	// (System.Nullable[System.Boolean], as Exchange's
	// SmtpClientAuthenticationDisabled): it is bound, with a nil value.
	Nullable bool
	Help     string
}

// Example is one example in a cmdlet's help.
type Example struct {
	Code    string
	Remarks string
}

// Impl is one invocation of a cmdlet. Process runs once per pipeline
// object (c.Input), or once without input when the cmdlet heads its
// pipeline. Any of the three may be nil.
type Impl struct {
	Begin   func(ctx context.Context, c *Call) error
	Process func(ctx context.Context, c *Call) error
	End     func(ctx context.Context, c *Call) error
}

// Cmdlet describes a command: its name, parameters, help and
// implementation.
type Cmdlet struct {
	Name        string
	Aliases     []string
	Synopsis    string
	Description string
	Params      []*Param
	Examples    []Example
	// ShouldProcess adds -WhatIf and -Confirm.
	ShouldProcess bool
	// ConfirmByDefault asks before acting in an interactive shell unless
	// -Confirm:$false (Remove-Mailbox, as Exchange does).
	ConfirmByDefault bool
	// NeedsServer marks cmdlets that talk to the server.
	NeedsServer bool
	// Source is the module the cmdlet comes from, shown by Get-Command.
	Source string
	// OutputType names the type of objects the cmdlet writes, for help.
	OutputType string
	New        func() Impl
}

// commonParams are the parameters every cmdlet has (about_CommonParameters),
// as far as this shell implements them.
var commonParams = []*Param{
	{Name: "ErrorAction", Aliases: []string{"ea"}, Type: TEnum, Enum: []string{"Continue", "Stop", "SilentlyContinue", "Ignore", "Inquire"}, TypeName: "System.Management.Automation.ActionPreference"},
	{Name: "WarningAction", Aliases: []string{"wa"}, Type: TEnum, Enum: []string{"Continue", "Stop", "SilentlyContinue", "Ignore", "Inquire"}, TypeName: "System.Management.Automation.ActionPreference"},
	{Name: "ErrorVariable", Aliases: []string{"ev"}, Type: TString, Help: "Also stores the command's errors in this variable (+name adds to it)."},
	{Name: "WarningVariable", Aliases: []string{"wv"}, Type: TString, Help: "Also stores the command's warnings in this variable (+name adds to it)."},
	{Name: "Verbose", Aliases: []string{"vb"}, Type: TSwitch},
	{Name: "Debug", Aliases: []string{"db"}, Type: TSwitch},
}

var shouldProcessParams = []*Param{
	{Name: "WhatIf", Aliases: []string{"wi"}, Type: TSwitch, Help: "Shows what the command would change, and which open sessions it would close, without changing anything."},
	{Name: "Confirm", Aliases: []string{"cf"}, Type: TSwitch, Help: "Asks for confirmation before the command changes anything. -Confirm:$false never asks."},
}

// AllParams returns the cmdlet's own parameters followed by the common ones.
func (c *Cmdlet) AllParams() []*Param {
	out := append([]*Param(nil), c.Params...)
	if c.ShouldProcess {
		out = append(out, shouldProcessParams...)
	}
	return append(out, commonParams...)
}

// Registry holds the cmdlets a shell knows, by name and alias.
type Registry struct {
	cmdlets []*Cmdlet
	byName  map[string]*Cmdlet
	aliases map[string]string // lower alias → cmdlet name
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Cmdlet{}, aliases: map[string]string{}}
}

// Add registers cmdlets; a later registration of a name replaces an
// earlier one.
func (r *Registry) Add(cs ...*Cmdlet) {
	for _, c := range cs {
		k := strings.ToLower(c.Name)
		if _, ok := r.byName[k]; !ok {
			r.cmdlets = append(r.cmdlets, c)
		} else {
			for i, old := range r.cmdlets {
				if strings.EqualFold(old.Name, c.Name) {
					r.cmdlets[i] = c
				}
			}
		}
		r.byName[k] = c
		for _, a := range c.Aliases {
			r.aliases[strings.ToLower(a)] = c.Name
		}
	}
}

// Lookup finds a cmdlet by name or alias, ignoring case.
func (r *Registry) Lookup(name string) (*Cmdlet, bool) {
	k := strings.ToLower(name)
	if c, ok := r.byName[k]; ok {
		return c, true
	}
	if n, ok := r.aliases[k]; ok {
		c, ok := r.byName[strings.ToLower(n)]
		return c, ok
	}
	return nil, false
}

// Cmdlets returns the registered cmdlets sorted by name.
func (r *Registry) Cmdlets() []*Cmdlet {
	out := append([]*Cmdlet(nil), r.cmdlets...)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// Aliases returns alias → cmdlet name.
func (r *Registry) Aliases() map[string]string {
	out := map[string]string{}
	for _, c := range r.cmdlets {
		for _, a := range c.Aliases {
			out[a] = c.Name
		}
	}
	return out
}
