package cmdlet

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

func getCommand() *Cmdlet {
	return &Cmdlet{
		Name: "Get-Command", Aliases: []string{"gcm"}, Source: srcCore,
		Synopsis:    "Lists the commands of the shell.",
		Description: "Lists the cmdlets, functions and aliases the shell knows, optionally only those whose name, verb or noun match (wildcards allowed).",
		Params: []*Param{
			{Name: "Name", Type: TStrings, Position: 1, Help: "Names to look for; wildcards allowed."},
			{Name: "Verb", Type: TStrings, Help: "Verbs to look for, such as Set."},
			{Name: "Noun", Type: TStrings, Help: "Nouns to look for, such as CASMailbox."},
		},
		Examples: []Example{
			{Code: "Get-Command *CASMailbox*", Remarks: "The cmdlets that work on CAS mailboxes."},
			{Code: "Get-Command -Verb Set", Remarks: "Every cmdlet that changes something."},
		},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				names := c.Strings("Name")
				verbs := c.Strings("Verb")
				nouns := c.Strings("Noun")
				matchAny := func(pats []string, s string) bool {
					if len(pats) == 0 {
						return true
					}
					for _, p := range pats {
						if Like(p, s, false) {
							return true
						}
					}
					return false
				}
				type entry struct {
					kind, name, display, source string
				}
				var out []entry
				for _, cm := range c.s.reg.Cmdlets() {
					if _, shadowed := c.s.functions[strings.ToLower(cm.Name)]; shadowed {
						continue
					}
					verb, noun, _ := strings.Cut(cm.Name, "-")
					if matchAny(names, cm.Name) && matchAny(verbs, verb) && matchAny(nouns, noun) {
						out = append(out, entry{"Cmdlet", cm.Name, cm.Name, cm.Source})
					}
				}
				for _, fn := range c.s.functions {
					verb, noun, _ := strings.Cut(fn.Name, "-")
					if matchAny(names, fn.Name) && matchAny(verbs, verb) && matchAny(nouns, noun) {
						out = append(out, entry{"Function", fn.Name, fn.Name, ""})
					}
				}
				if len(verbs) == 0 && len(nouns) == 0 && len(names) > 0 {
					for a, target := range c.s.reg.Aliases() {
						if matchAny(names, a) {
							out = append(out, entry{"Alias", a, a + " -> " + target, ""})
						}
					}
				}
				sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].name) < strings.ToLower(out[j].name) })
				for _, n := range names {
					if strings.ContainsAny(n, "*?[") {
						continue
					}
					found := false
					for _, e := range out {
						if strings.EqualFold(e.name, n) {
							found = true
						}
					}
					if !found {
						if err := c.WriteError(notRecognized(n).Msg); err != nil {
							return err
						}
					}
				}
				for _, e := range out {
					o := NewObject("System.Management.Automation.CommandInfo")
					o.Set("CommandType", e.kind)
					o.Set("Name", e.display)
					o.Set("Source", e.source)
					if err := c.Emit(o); err != nil {
						return err
					}
				}
				return nil
			}}
		},
	}
}

func getHelp() *Cmdlet {
	return &Cmdlet{
		Name: "Get-Help", Aliases: []string{"help", "man"}, Source: srcCore,
		Synopsis:    "Displays information about commands.",
		Description: "Shows the help of a cmdlet, generated from its definition: synopsis, syntax and description; -Detailed adds the parameters and examples, -Full the parameters' attributes, -Examples only the examples.",
		Params: []*Param{
			{Name: "Name", Type: TString, Position: 1, Help: "The command; wildcards list the matching commands."},
			{Name: "Detailed", Type: TSwitch, Help: "Adds parameter descriptions and examples."},
			{Name: "Full", Type: TSwitch, Help: "Shows everything."},
			{Name: "Examples", Type: TSwitch, Help: "Shows only the examples."},
			{Name: "Parameter", Type: TString, Help: "Shows only this parameter."},
		},
		Examples: []Example{
			{Code: "Get-Help Set-CASMailbox -Examples", Remarks: "Examples of Set-CASMailbox."},
			{Code: "Get-Help *Mailbox*", Remarks: "Lists the commands about mailboxes."},
		},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				name := c.String("Name")
				if name == "" {
					return c.Emit(generalHelp(c.s.reg))
				}
				if strings.ContainsAny(name, "*?[") {
					var b strings.Builder
					var rows [][]string
					for _, cm := range c.s.reg.Cmdlets() {
						if Like(name, cm.Name, false) {
							rows = append(rows, []string{cm.Name, "Cmdlet", cm.Synopsis})
						}
					}
					if len(rows) == 0 {
						return c.WriteError(fmt.Sprintf("Get-Help could not find %s in a help file in this session.", name))
					}
					b.WriteString(renderTable([]column{{name: "Name"}, {name: "Category"}, {name: "Synopsis"}}, rows, c.s.width()))
					return c.Emit(b.String())
				}
				cm, ok := c.s.reg.Lookup(name)
				if !ok {
					return c.WriteError(fmt.Sprintf("Get-Help could not find %s in a help file in this session.", name))
				}
				mode := "default"
				switch {
				case c.Switch("Full"):
					mode = "full"
				case c.Switch("Detailed"):
					mode = "detailed"
				case c.Switch("Examples"):
					mode = "examples"
				}
				if p := c.String("Parameter"); p != "" {
					var b strings.Builder
					found := false
					for _, prm := range cm.AllParams() {
						if Like(p, prm.Name, false) {
							writeParamHelp(&b, prm, true)
							found = true
						}
					}
					if !found {
						return c.WriteError(fmt.Sprintf("No parameter matches criteria %s.", p))
					}
					return c.Emit(b.String())
				}
				return c.Emit(HelpText(cm, mode))
			}}
		},
	}
}

func generalHelp(r *Registry) string {
	var b strings.Builder
	b.WriteString("\nTOPIC\n    Gatehouse admin shell\n\nSHORT DESCRIPTION\n    Manages Gatehouse mailboxes and their POP3 and IMAP4 access with Exchange cmdlets.\n\nLONG DESCRIPTION\n")
	b.WriteString("    Type a cmdlet as the Exchange documentation shows it, for example:\n\n        Set-CASMailbox -Identity \"Christa Knapp\" -PopEnabled $false\n        Get-CASMailbox -Identity \"Christa Knapp\" | Format-List Pop*,Imap*\n\n")
	b.WriteString("    Get-Command lists the commands; Get-Help <command> -Detailed describes one.\n    Tab completes command names, parameter names and identities. Ctrl-D or exit leaves.\n\nCOMMANDS\n")
	for _, cm := range r.Cmdlets() {
		fmt.Fprintf(&b, "    %-28s %s\n", cm.Name, cm.Synopsis)
	}
	return b.String()
}

// shortType is the type name help shows: System.String → String.
func shortType(p *Param) string {
	t := p.typeNameOf()
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// Syntax returns the cmdlet's syntax line, as Get-Help shows it.
func Syntax(cm *Cmdlet) string {
	parts := []string{cm.Name}
	params := append([]*Param(nil), cm.Params...)
	sort.SliceStable(params, func(i, j int) bool {
		pi, pj := params[i].Position, params[j].Position
		if pi > 0 && pj > 0 {
			return pi < pj
		}
		return pi > 0 && pj == 0
	})
	for _, p := range params {
		var s string
		switch {
		case p.Type == TSwitch:
			s = "[-" + p.Name + "]"
		case p.Position > 0:
			s = "[-" + p.Name + "] <" + shortType(p) + ">"
			if !p.Mandatory {
				s = "[" + s + "]"
			}
		default:
			s = "-" + p.Name + " <" + shortType(p) + ">"
			if !p.Mandatory {
				s = "[" + s + "]"
			}
		}
		parts = append(parts, s)
	}
	if cm.ShouldProcess {
		parts = append(parts, "[-WhatIf]", "[-Confirm]")
	}
	parts = append(parts, "[<CommonParameters>]")
	return strings.Join(parts, " ")
}

func writeParamHelp(b *strings.Builder, p *Param, full bool) {
	if p.Type == TSwitch {
		fmt.Fprintf(b, "    -%s [<SwitchParameter>]\n", p.Name)
	} else {
		fmt.Fprintf(b, "    -%s <%s>\n", p.Name, shortType(p))
	}
	if p.Help != "" {
		b.WriteString(indentWrap(p.Help, 8, 100) + "\n")
	}
	if len(p.Enum) > 0 {
		b.WriteString("        Accepted values: " + strings.Join(p.Enum, ", ") + "\n")
	}
	if full {
		b.WriteString("\n")
		fmt.Fprintf(b, "        Required?                    %v\n", p.Mandatory)
		pos := "named"
		if p.Position > 0 {
			pos = fmt.Sprint(p.Position)
		}
		fmt.Fprintf(b, "        Position?                    %s\n", pos)
		pipe := "false"
		switch {
		case p.FromPipeline && p.FromPipelineByName:
			pipe = "true (ByValue, ByPropertyName)"
		case p.FromPipeline:
			pipe = "true (ByValue)"
		case p.FromPipelineByName:
			pipe = "true (ByPropertyName)"
		}
		fmt.Fprintf(b, "        Accept pipeline input?       %s\n", pipe)
		if len(p.Aliases) > 0 {
			fmt.Fprintf(b, "        Aliases                      %s\n", strings.Join(p.Aliases, ", "))
		}
	}
	b.WriteString("\n")
}

func indentWrap(text string, indent, width int) string {
	var lines []string
	pfx := strings.Repeat(" ", indent)
	for _, para := range strings.Split(text, "\n") {
		line := pfx
		for _, w := range strings.Fields(para) {
			if len(line)+len(w)+1 > width && strings.TrimSpace(line) != "" {
				lines = append(lines, line)
				line = pfx
			}
			if strings.TrimSpace(line) != "" {
				line += " "
			}
			line += w
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// HelpText renders a cmdlet's help: mode is "default", "detailed",
// "full" or "examples".
func HelpText(cm *Cmdlet, mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nNAME\n    %s\n\nSYNOPSIS\n%s\n\n", cm.Name, indentWrap(cm.Synopsis, 4, 100))
	if mode != "examples" {
		fmt.Fprintf(&b, "\nSYNTAX\n%s\n\n", indentWrap(Syntax(cm), 4, 100))
		desc := cm.Description
		if desc == "" {
			desc = cm.Synopsis
		}
		fmt.Fprintf(&b, "\nDESCRIPTION\n%s\n\n", indentWrap(desc, 4, 100))
		if len(cm.Aliases) > 0 {
			fmt.Fprintf(&b, "ALIASES\n    %s\n\n", strings.Join(cm.Aliases, ", "))
		}
	}
	if mode == "detailed" || mode == "full" {
		b.WriteString("\nPARAMETERS\n")
		params := cm.Params
		if cm.ShouldProcess {
			params = append(append([]*Param(nil), params...), shouldProcessParams...)
		}
		for _, p := range params {
			writeParamHelp(&b, p, mode == "full")
		}
		b.WriteString("    <CommonParameters>\n        This cmdlet supports the common parameters -ErrorAction, -ErrorVariable, -WarningAction, -WarningVariable, -Verbose and -Debug.\n\n")
		if mode == "full" && cm.OutputType != "" {
			fmt.Fprintf(&b, "OUTPUTS\n    %s\n\n", cm.OutputType)
		}
	}
	if mode != "default" {
		for i, ex := range cm.Examples {
			fmt.Fprintf(&b, "    -------------------------- Example %d --------------------------\n\n    PS> %s\n\n%s\n\n", i+1, ex.Code, indentWrap(ex.Remarks, 4, 100))
		}
	}
	if mode == "default" {
		fmt.Fprintf(&b, "\nREMARKS\n    To see the examples, type: \"Get-Help %s -Examples\".\n    For more information, type: \"Get-Help %s -Detailed\".\n    For technical information, type: \"Get-Help %s -Full\".\n\n", cm.Name, cm.Name, cm.Name)
	}
	return b.String()
}

func getMember() *Cmdlet {
	return &Cmdlet{
		Name: "Get-Member", Aliases: []string{"gm"}, Source: srcUtility,
		Synopsis: "Lists the properties of objects.",
		Params:   []*Param{inputObject()},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			seen := map[string]bool{}
			var b strings.Builder
			for _, it := range items {
				tn := typeName(it)
				if seen[tn] {
					continue
				}
				seen[tn] = true
				fmt.Fprintf(&b, "\n   TypeName: %s\n", tn)
				var rows [][]string
				for _, n := range propertyNames(it) {
					v, _ := property(it, n)
					rows = append(rows, []string{n, "NoteProperty", shortTypeOf(v) + " " + n + "=" + DisplayValue(v)})
				}
				b.WriteString(renderTable([]column{{name: "Name"}, {name: "MemberType"}, {name: "Definition"}}, rows, c.s.width()))
			}
			if b.Len() == 0 {
				return c.WriteError("You must specify an object for the Get-Member cmdlet.")
			}
			return c.Emit(&FormatOutput{Text: b.String()})
		}),
	}
}

func shortTypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "object"
	case string:
		return "string"
	case bool:
		return "bool"
	case int64:
		return "long"
	case float64:
		return "double"
	case []any:
		return "Object[]"
	}
	t := typeName(v)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}
