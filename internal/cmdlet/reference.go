package cmdlet

import (
	"fmt"
	"strings"
)

// languageSummary is the part of PowerShell the shell runs, for the top of
// CMDLETS.md.
const languageSummary = "The language is the part of PowerShell that admin scripts use: pipelines, variables, expressions and operators, " +
	"`if`/`elseif`/`else`, `foreach`, `for`, `while`, `do { } while ()` and `do { } until ()`, `break` and `continue` " +
	"(in a ForEach-Object script block they end the enclosing loop, or the script, as in PowerShell), `switch` (-Wildcard, -Regex, -Exact, -CaseSensitive, arrays, `default`), " +
	"`try`/`catch [Type]`/`finally` and `throw` (non-terminating errors enter catch only under -ErrorAction Stop or `$ErrorActionPreference = 'Stop'`), " +
	"`function` and `filter` with `param()` blocks (`[Parameter(Mandatory, ValueFromPipeline, Position)]`, `[ValidateSet()]`, `[Alias()]`, types, `[switch]`, defaults), " +
	"`begin`/`process`/`end`, `$input`, `$args`, `$PSBoundParameters` and `return`, splatting, a script's own `param()` block " +
	"(`gatehouse shell script.ps1 -Name value`, or after `-File`), `> file` and `>> file`. " +
	"Loops and switch may carry a label (`:outer foreach (...) { ... break outer }`). " +
	"Not supported: classes, `trap`, and redirection of other streams than output.\n\n"

// Reference renders the Markdown reference of the registry's cmdlets, from
// the same definitions Get-Help reads. CMDLETS.md is generated from it; a
// test fails when the checked-in copy is stale.
func Reference(r *Registry) string {
	var b strings.Builder
	b.WriteString("# Gatehouse admin shell: cmdlet reference\n\n")
	b.WriteString("Generated from the cmdlet registry (`go test ./internal/cmdlet/exchange -run TestCmdletReference -update`); `Get-Help <cmdlet> -Full` shows the same in the shell.\n\n")
	b.WriteString("Every cmdlet also takes the common parameters -ErrorAction, -ErrorVariable, -WarningAction, -WarningVariable, -Verbose and -Debug. Cmdlet and parameter names are case-insensitive, and a parameter may be shortened to any unambiguous prefix (-Ident for -Identity).\n\n")
	b.WriteString(languageSummary)
	for _, c := range r.Cmdlets() {
		fmt.Fprintf(&b, "- [%s](#%s): %s\n", c.Name, strings.ToLower(c.Name), c.Synopsis)
	}
	for _, c := range r.Cmdlets() {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n```\n%s\n```\n\n", c.Name, c.Synopsis, Syntax(c))
		if c.Description != "" {
			b.WriteString(c.Description + "\n\n")
		}
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "Aliases: %s\n\n", "`"+strings.Join(c.Aliases, "`, `")+"`")
		}
		params := c.Params
		if c.ShouldProcess {
			params = append(append([]*Param(nil), params...), shouldProcessParams...)
		}
		if len(params) > 0 {
			b.WriteString("| Parameter | Type | Position | Required | Pipeline input | Description |\n|---|---|---|---|---|---|\n")
			for _, p := range params {
				pos := "named"
				if p.Position > 0 {
					pos = fmt.Sprint(p.Position)
				}
				pipe := ""
				switch {
				case p.FromPipeline && p.FromPipelineByName:
					pipe = "by value, by property name"
				case p.FromPipeline:
					pipe = "by value"
				case p.FromPipelineByName:
					pipe = "by property name"
				}
				help := p.Help
				if len(p.Aliases) > 0 {
					help = strings.TrimSpace(help + " Aliases: -" + strings.Join(p.Aliases, ", -") + ".")
				}
				if len(p.Enum) > 0 {
					help = strings.TrimSpace(help + " One of: " + strings.Join(p.Enum, ", ") + ".")
				}
				fmt.Fprintf(&b, "| -%s | %s | %s | %v | %s | %s |\n", p.Name, shortType(p), pos, p.Mandatory, pipe, strings.ReplaceAll(help, "|", "\\|"))
			}
			b.WriteString("\n")
		}
		for i, ex := range c.Examples {
			fmt.Fprintf(&b, "Example %d: %s\n\n```powershell\n%s\n```\n\n", i+1, ex.Remarks, ex.Code)
		}
	}
	return b.String()
}
