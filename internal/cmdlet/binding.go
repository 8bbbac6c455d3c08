package cmdlet

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// Call is one invocation of a cmdlet in a pipeline: its bound parameters,
// the current pipeline object, and the way out (Emit, errors, warnings).
type Call struct {
	s        *Session
	Cmdlet   *Cmdlet
	Position int // 1-based position in the pipeline, for prompts
	named    map[string]any
	pipe     map[string]any
	// Input is the current pipeline object; HasInput is false when the
	// cmdlet heads its pipeline.
	Input    any
	HasInput bool
	emit     func(any) error
	// expectInput is set when pipeline objects will arrive.
	expectInput bool
	// confirmAll/confirmNone remember "Yes to All"/"No to All".
	confirmAll, confirmNone bool
}

func (c *Call) lookupParam(name string) *Param {
	for _, p := range c.Cmdlet.AllParams() {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// Get returns a bound parameter value, from the current pipeline object
// first, then from the command line.
func (c *Call) Get(name string) (any, bool) {
	k := strings.ToLower(name)
	if v, ok := c.pipe[k]; ok {
		return v, true
	}
	v, ok := c.named[k]
	return v, ok
}

// Has reports whether a parameter is bound.
func (c *Call) Has(name string) bool {
	_, ok := c.Get(name)
	return ok
}

// String returns a text parameter, "" when unbound.
func (c *Call) String(name string) string {
	v, _ := c.Get(name)
	s, _ := v.(string)
	return s
}

// Switch returns a switch or Boolean parameter, false when unbound.
func (c *Call) Switch(name string) bool {
	v, _ := c.Get(name)
	b, _ := v.(bool)
	return b
}

// Int returns a whole-number parameter.
func (c *Call) Int(name string) (int64, bool) {
	v, ok := c.Get(name)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	return n, ok
}

// Strings returns a text[] parameter.
func (c *Call) Strings(name string) []string {
	v, _ := c.Get(name)
	ss, _ := v.([]string)
	return ss
}

// Emit writes an object to the next command of the pipeline.
func (c *Call) Emit(v any) error { return c.emit(v) }

// EmitAll writes each item of a slice.
func (c *Call) EmitAll(vs []any) error {
	for _, v := range vs {
		if err := c.emit(v); err != nil {
			return err
		}
	}
	return nil
}

// errorAction is the effective -ErrorAction.
func (c *Call) errorAction() string {
	if v, ok := c.Get("ErrorAction"); ok {
		return v.(string)
	}
	return c.s.errorActionPreference()
}

// WriteError writes a non-terminating error ("Cmdlet: msg") and goes on,
// as -ErrorAction (else $ErrorActionPreference) says: shown (Continue),
// only added to $Error (SilentlyContinue), dropped (Ignore), or made
// terminating (Stop): then the error is returned, the caller must return
// it, and it ends the script. -ErrorVariable collects it in every case.
// See errorrecord.go.
func (c *Call) WriteError(msg string) error {
	e := &Error{Source: c.Cmdlet.Name, Msg: msg}
	c.s.stmtErr = true
	if name := c.String("ErrorVariable"); name != "" {
		c.s.appendVariable(name, errorRecord(e))
	}
	switch c.errorAction() {
	case "Stop":
		return &actionStopError{err: e}
	case "SilentlyContinue":
		c.s.addError(e)
		return nil
	case "Ignore":
		return nil
	}
	c.s.WriteError(e)
	return nil
}

// WriteWarning writes "WARNING: msg" as -WarningAction (else
// $WarningPreference) says; -WarningVariable collects it.
func (c *Call) WriteWarning(msg string) error {
	action := c.s.preference("WarningPreference")
	if v, ok := c.Get("WarningAction"); ok {
		action = v.(string)
	}
	if name := c.String("WarningVariable"); name != "" {
		c.s.appendVariable(name, msg)
	}
	switch action {
	case "SilentlyContinue", "Ignore":
		return nil
	case "Stop":
		c.s.writeWarning(msg)
		return &actionStopError{err: &Error{Source: c.Cmdlet.Name, Msg: "The running command stopped because the preference variable \"WarningPreference\" or common parameter is set to Stop: " + msg}}
	}
	c.s.writeWarning(msg)
	return nil
}

// Session returns the shell session.
func (c *Call) Session() *Session { return c.s }

// MapEmit makes Emit pass each object through f until the returned
// function restores it.
func (c *Call) MapEmit(f func(v any) any) (restore func()) {
	emit := c.emit
	c.emit = func(v any) error { return emit(f(v)) }
	return func() { c.emit = emit }
}

// WhatIf reports whether -WhatIf is in effect.
func (c *Call) WhatIf() bool { return c.Switch("WhatIf") }

// ShouldProcess decides whether to perform an operation on a target. With
// -WhatIf it prints PowerShell's "What if: Performing the operation ..."
// line and returns false. It asks first when the command must be
// confirmed (mustConfirm); a shell that cannot ask (-c, a script, piped
// input) then fails with an error rather than go ahead unasked.
func (c *Call) ShouldProcess(target, operation string) (bool, error) {
	if c.WhatIf() {
		c.s.WriteHost(fmt.Sprintf("What if: Performing the operation %q on target %q.", operation, target))
		return false, nil
	}
	switch {
	case c.confirmAll:
		return true, nil
	case c.confirmNone:
		return false, nil
	case !c.mustConfirm():
		return true, nil
	case c.s.host.Prompt == nil:
		return false, &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. "+
			"%s asks for confirmation before performing the operation %q on target %q; add -Confirm:$false to go ahead without being asked.",
			c.Cmdlet.Name, operation, target)}
	}
	for {
		ans, err := c.s.host.Prompt(fmt.Sprintf("\nConfirm\nAre you sure you want to perform this action?\nPerforming the operation %q on target %q.\n[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): ", operation, target), false)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "", "y":
			return true, nil
		case "a":
			c.confirmAll = true
			return true, nil
		case "n":
			return false, nil
		case "l":
			c.confirmNone = true
			return false, nil
		}
		c.s.WriteHost("Y - Continue with only the next step of the operation.\nA - Continue with all the steps of the operation.\nN - Skip this operation and proceed with the next operation.\nL - Skip this operation and all subsequent operations.")
	}
}

// mustConfirm reports whether the command must ask before it changes
// anything: -Confirm forces it and -Confirm:$false rules it out; otherwise
// it asks when its impact (High for ConfirmByDefault cmdlets such as
// Remove-Mailbox, else Medium) reaches $ConfirmPreference (High by
// default; None never asks), as PowerShell does.
func (c *Call) mustConfirm() bool {
	if v, ok := c.named["confirm"]; ok {
		b, _ := v.(bool)
		return b
	}
	impact := 2 // Medium
	if c.Cmdlet.ConfirmByDefault {
		impact = 3 // High
	}
	v, _ := c.s.getVar("ConfirmPreference")
	pref := map[string]int{"none": 4, "low": 1, "medium": 2, "high": 3}[strings.ToLower(strings.TrimSpace(ToString(v)))]
	if pref == 0 {
		pref = 3
	}
	return impact >= pref && pref < 4
}

// ResolveParam finds the parameter a -name refers to: an exact name or
// alias, else an unambiguous prefix of one, ignoring case (about_Parameters).
func ResolveParam(cmd *Cmdlet, name string) (*Param, error) {
	params := cmd.AllParams()
	for _, p := range params {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		for _, a := range p.Aliases {
			if strings.EqualFold(a, name) {
				return p, nil
			}
		}
	}
	var matches []*Param
	lname := strings.ToLower(name)
	for _, p := range params {
		hit := strings.HasPrefix(strings.ToLower(p.Name), lname)
		for _, a := range p.Aliases {
			hit = hit || strings.HasPrefix(strings.ToLower(a), lname)
		}
		if hit {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("A parameter cannot be found that matches parameter name '%s'.", name)
	case 1:
		return matches[0], nil
	}
	names := make([]string, len(matches))
	for i, p := range matches {
		names[i] = "-" + p.Name
	}
	return nil, fmt.Errorf("Parameter cannot be processed because the parameter name '%s' is ambiguous. Possible matches include: %s.", name, strings.Join(names, " "))
}

// typeNameOf is the .NET type name of a parameter, for messages and help.
func (p *Param) typeNameOf() string {
	if p.TypeName != "" {
		return p.TypeName
	}
	switch p.Type {
	case TString, TEnum:
		return "System.String"
	case TStrings:
		return "System.String[]"
	case TBool:
		if p.Nullable {
			return "System.Nullable[System.Boolean]"
		}
		return "System.Boolean"
	case TSwitch:
		return "System.Management.Automation.SwitchParameter"
	case TInt:
		return "System.Int32"
	case TDateTime:
		return "System.DateTime"
	case TScriptBlock:
		return "System.Management.Automation.ScriptBlock"
	case TSecureString:
		return "System.Security.SecureString"
	case THashtable:
		return "System.Collections.Hashtable"
	case TResultSize:
		return "Microsoft.Exchange.Data.Unlimited"
	case TIdentity:
		return "Microsoft.Exchange.Configuration.Tasks.IdParameter"
	case TProperties:
		return "System.Object[]"
	case TFilter:
		return "System.String"
	}
	return "System.Object"
}

// bindArguments binds the command line: named parameters first, then
// positional arguments in Position order, then type conversion.
func (s *Session) bindArguments(ctx context.Context, c *Call, cmd *syntax.Command) error {
	c.named = map[string]any{}
	var positional []any
	var positionalText []string
	elems := cmd.Elements
	for i := 0; i < len(elems); i++ {
		switch e := elems[i].(type) {
		case *syntax.Parameter:
			p, err := ResolveParam(c.Cmdlet, e.Name)
			if err != nil {
				return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
			}
			k := strings.ToLower(p.Name)
			if _, dup := c.named[k]; dup {
				return errorf(c.Cmdlet.Name, "Cannot bind parameter because parameter '%s' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, \"-parameter value1,value2,value3\".", p.Name)
			}
			var v any
			switch {
			case e.Colon:
				val, err := s.eval(ctx, e.Arg)
				if err != nil {
					return err
				}
				v = val
			case p.Type == TSwitch:
				v = true
			default:
				if i+1 >= len(elems) {
					return errorf(c.Cmdlet.Name, "Missing an argument for parameter '%s'. Specify a parameter of type '%s' and try again.", p.Name, p.typeNameOf())
				}
				x, ok := elems[i+1].(syntax.Expr)
				if !ok {
					return errorf(c.Cmdlet.Name, "Missing an argument for parameter '%s'. Specify a parameter of type '%s' and try again.", p.Name, p.typeNameOf())
				}
				i++
				val, err := s.eval(ctx, x)
				if err != nil {
					return err
				}
				v = val
			}
			cv, err := convertParam(p, v)
			if err != nil {
				return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
			}
			c.named[k] = cv
		case *syntax.Splat:
			// @params: a hashtable's entries bind as -Key Value, an
			// array's elements as positional arguments (about_Splatting)
			v, _ := s.getVar(e.Name)
			switch x := v.(type) {
			case *Hashtable:
				for i, key := range x.keys {
					name := ToString(key)
					p, err := ResolveParam(c.Cmdlet, name)
					if err != nil {
						return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
					}
					k := strings.ToLower(p.Name)
					if _, dup := c.named[k]; dup {
						return errorf(c.Cmdlet.Name, "Cannot bind parameter because parameter '%s' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, \"-parameter value1,value2,value3\".", p.Name)
					}
					cv, err := convertParam(p, x.values[i])
					if err != nil {
						return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
					}
					c.named[k] = cv
				}
			case nil:
			default:
				for _, item := range ToArray(x) {
					positional = append(positional, item)
					positionalText = append(positionalText, ToString(item))
				}
			}
		case syntax.Expr:
			v, err := s.eval(ctx, e)
			if err != nil {
				return err
			}
			positional = append(positional, v)
			positionalText = append(positionalText, argText(e, v))
		}
	}
	var slots []*Param
	for _, p := range c.Cmdlet.Params {
		if p.Position > 0 {
			slots = append(slots, p)
		}
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].Position < slots[j].Position })
	for i := 0; i < len(positional); i++ {
		v := positional[i]
		var slot *Param
		for len(slots) > 0 {
			p := slots[0]
			slots = slots[1:]
			if _, bound := c.named[strings.ToLower(p.Name)]; !bound {
				slot = p
				break
			}
		}
		if slot == nil {
			return errorf(c.Cmdlet.Name, "A positional parameter cannot be found that accepts argument '%s'.", positionalText[i])
		}
		if slot.Remaining && i+1 < len(positional) {
			v = append([]any{v}, positional[i+1:]...)
			i = len(positional)
		}
		cv, err := convertParam(slot, v)
		if err != nil {
			return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
		}
		c.named[strings.ToLower(slot.Name)] = cv
	}
	return nil
}

// argText is how PowerShell names an argument in "A positional parameter
// cannot be found that accepts argument 'x'".
func argText(x syntax.Expr, v any) string {
	if _, ok := x.(*syntax.StringLit); ok {
		return ToString(v)
	}
	if _, ok := v.(*Object); ok {
		return ToString(v)
	}
	if _, ok := v.([]any); ok {
		return "System.Object[]"
	}
	return ToString(v)
}

// checkMandatory finds mandatory parameters still unbound; those that the
// pipeline may still bind are skipped while input is expected. In an
// interactive shell it prompts for them, as PowerShell does; otherwise it
// fails with PowerShell's message.
func (s *Session) checkMandatory(c *Call, perItem bool) error {
	var missing []*Param
	for _, p := range c.Cmdlet.Params {
		if !p.Mandatory || c.Has(p.Name) {
			continue
		}
		if !perItem && c.expectInput && (p.FromPipeline || p.FromPipelineByName) {
			continue
		}
		missing = append(missing, p)
	}
	if len(missing) == 0 {
		return nil
	}
	if s.host.Prompt != nil && !perItem {
		s.WriteHost(fmt.Sprintf("\ncmdlet %s at command pipeline position %d\nSupply values for the following parameters:", c.Cmdlet.Name, c.Position))
		for _, p := range missing {
			line, err := s.host.Prompt(p.Name+": ", p.Type == TSecureString)
			if err != nil {
				return err
			}
			var v any = line
			if p.Type == TSecureString {
				v = &SecureString{plain: line}
			}
			if line == "" {
				return errorf(c.Cmdlet.Name, "Cannot bind argument to parameter '%s' because it is an empty string.", p.Name)
			}
			cv, err := convertParam(p, v)
			if err != nil {
				return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
			}
			c.named[strings.ToLower(p.Name)] = cv
		}
		return nil
	}
	names := make([]string, len(missing))
	for i, p := range missing {
		names[i] = p.Name
	}
	return errorf(c.Cmdlet.Name, "Cannot process command because of one or more missing mandatory parameters: %s.", strings.Join(names, " "))
}

// bindPipeline binds the parameters that take pipeline input from one
// pipeline object: by value first, then by property name.
func (s *Session) bindPipeline(c *Call, in any) error {
	c.pipe = map[string]any{}
	c.Input, c.HasInput = in, true
	takes := false
	bound := false
	for _, p := range c.Cmdlet.Params {
		if !p.FromPipeline {
			continue
		}
		takes = true
		k := strings.ToLower(p.Name)
		if _, ok := c.named[k]; ok {
			continue
		}
		if in == nil {
			if p.Mandatory && p.Type != TAny {
				return errorf(c.Cmdlet.Name, "Cannot bind argument to parameter '%s' because it is null.", p.Name)
			}
			if p.Type == TAny {
				c.pipe[k] = nil
				bound = true
			}
			continue
		}
		if p.Type == TIdentity {
			if id, ok := identityOf(in); ok {
				c.pipe[k] = id
				bound = true
			}
			continue
		}
		if v, err := convertParam(p, in); err == nil {
			c.pipe[k] = v
			bound = true
		}
	}
	for _, p := range c.Cmdlet.Params {
		if !p.FromPipelineByName {
			continue
		}
		takes = true
		k := strings.ToLower(p.Name)
		if _, ok := c.named[k]; ok {
			continue
		}
		if _, ok := c.pipe[k]; ok {
			continue
		}
		var v any
		found := false
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if pv, ok := pipelineProperty(in, n); ok {
				v, found = pv, true
				break
			}
		}
		if !found {
			continue
		}
		cv, err := convertParam(p, v)
		if err != nil {
			return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
		}
		c.pipe[k] = cv
		bound = true
	}
	if !takes || !bound {
		return errorf(c.Cmdlet.Name, "The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input.")
	}
	return nil
}

func pipelineProperty(in any, name string) (any, bool) {
	switch x := in.(type) {
	case *Object:
		return x.Get(name)
	case *Hashtable:
		// PowerShell binds hashtables by property name only through
		// splatting; a piped hashtable has no such properties.
		return nil, false
	}
	return nil, false
}

// identityOf returns the identity an object stands for when it is piped
// into an -Identity parameter: its Identity, else its Guid, else for
// Gatehouse objects its address or name. A string is itself.
func identityOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case int64, float64:
		return ToString(x), true
	case *Object:
		keys := []string{"Identity", "Guid"}
		if strings.HasPrefix(x.TypeName, "Gatehouse.") {
			// A GUID cannot be ambiguous, where a name may also be
			// another mailbox's alias; the server still names the
			// mailbox in its messages.
			keys = []string{"Guid", "Identity", "PrimarySmtpAddress", "UserPrincipalName", "Name"}
		}
		for _, k := range keys {
			if p, ok := x.Get(k); ok && p != nil && ToString(p) != "" {
				return ToString(p), true
			}
		}
	case []any:
		if len(x) == 1 {
			return identityOf(x[0])
		}
	}
	return "", false
}

// Unlimited is the value of -ResultSize Unlimited.
const Unlimited int64 = -1

// convertParam converts an argument to the parameter's type, with
// PowerShell's messages when it cannot.
func convertParam(p *Param, v any) (any, error) {
	if arr, ok := v.([]any); ok && len(arr) == 1 && p.Type != TStrings && p.Type != TProperties && p.Type != TAny {
		v = arr[0]
	}
	if v == nil && p.Type == TBool && p.Nullable {
		return nil, nil
	}
	if v == nil && p.Type == TBool {
		// PowerShell refuses $null (and so an undefined variable) for a
		// Boolean parameter rather than take it as $false.
		return nil, fmt.Errorf("Cannot process argument transformation on parameter '%s'. Cannot convert value \"\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.", p.Name)
	}
	if v == nil && p.Type != TSwitch && p.Type != TAny {
		if p.Mandatory {
			return nil, fmt.Errorf("Cannot bind argument to parameter '%s' because it is null.", p.Name)
		}
		return nil, nil
	}
	cannot := func(detail string) error {
		return fmt.Errorf("Cannot bind parameter '%s'. Cannot convert value %q to type %q. Error: %q", p.Name, ToString(v), p.typeNameOf(), detail)
	}
	switch p.Type {
	case TAny:
		return v, nil
	case TString:
		switch x := v.(type) {
		case []any:
			return nil, fmt.Errorf("Cannot convert 'System.Object[]' to the type 'System.String' required by parameter '%s'. Specified method is not supported.", p.Name)
		case *ScriptBlock:
			return x.Node.Text, nil
		}
		s := ToString(v)
		if p.Mandatory && s == "" {
			return nil, fmt.Errorf("Cannot bind argument to parameter '%s' because it is an empty string.", p.Name)
		}
		return s, nil
	case TStrings:
		var out []string
		for _, e := range ToArray(v) {
			out = append(out, ToString(e))
		}
		return out, nil
	case TBool, TSwitch:
		switch x := v.(type) {
		case nil:
			return false, nil
		case bool:
			return x, nil
		case int64, float64:
			return isTrue(x), nil
		case string:
			// PowerShell refuses text for a Boolean parameter; we accept
			// the spellings of a Boolean that a CSV file holds.
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "$true", "1":
				return true, nil
			case "false", "$false", "0":
				return false, nil
			}
		}
		return nil, fmt.Errorf("Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.", p.Name, typeName(v))
	case TInt:
		n, ok := toInt(v)
		if !ok {
			return nil, cannot("Input string was not in a correct format.")
		}
		return n, nil
	case TDateTime:
		t, ok := toTime(v)
		if !ok {
			return nil, cannot("String was not recognized as a valid DateTime.")
		}
		return t, nil
	case TScriptBlock:
		if sb, ok := v.(*ScriptBlock); ok {
			return sb, nil
		}
		return nil, fmt.Errorf("Cannot bind parameter '%s'. Cannot convert the %q value of type %q to type \"System.Management.Automation.ScriptBlock\".", p.Name, ToString(v), typeName(v))
	case TSecureString:
		if ss, ok := v.(*SecureString); ok {
			return ss, nil
		}
		return nil, fmt.Errorf("Cannot bind parameter '%s'. Cannot convert the %q value of type %q to type \"System.Security.SecureString\". Use (ConvertTo-SecureString -String '...' -AsPlainText -Force).", p.Name, ToString(v), typeName(v))
	case THashtable:
		if h, ok := v.(*Hashtable); ok {
			return h, nil
		}
		return nil, fmt.Errorf("Cannot bind parameter '%s'. Cannot convert the %q value of type %q to type \"System.Collections.Hashtable\".", p.Name, ToString(v), typeName(v))
	case TResultSize:
		if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), "unlimited") {
			return Unlimited, nil
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return nil, fmt.Errorf("Cannot process argument transformation on parameter '%s'. Cannot convert value %q to type \"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]\". Use a positive number or Unlimited.", p.Name, ToString(v))
		}
		return n, nil
	case TIdentity:
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("Cannot bind argument to parameter '%s' because it is an empty string.", p.Name)
		}
		id, ok := identityOf(v)
		if !ok {
			if _, isArr := v.([]any); isArr {
				return nil, fmt.Errorf("Cannot convert 'System.Object[]' to the type '%s' required by parameter '%s'. Specified method is not supported.", p.typeNameOf(), p.Name)
			}
			return nil, fmt.Errorf("Cannot bind parameter '%s'. Cannot convert the %q value of type %q to type %q.", p.Name, ToString(v), typeName(v), p.typeNameOf())
		}
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, fmt.Errorf("Cannot bind argument to parameter '%s' because it is an empty string.", p.Name)
		}
		return id, nil
	case TEnum:
		s := ToString(v)
		for _, e := range p.Enum {
			if strings.EqualFold(e, strings.TrimSpace(s)) {
				return e, nil
			}
		}
		return nil, fmt.Errorf("Cannot validate argument on parameter '%s'. The argument %q does not belong to the set %q specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.", p.Name, s, strings.Join(p.Enum, ","))
	case TProperties:
		var out []any
		for _, e := range ToArray(v) {
			switch e.(type) {
			case *Hashtable, *ScriptBlock, string:
				out = append(out, e)
			default:
				out = append(out, ToString(e))
			}
		}
		return out, nil
	case TFilter:
		text := ""
		switch x := v.(type) {
		case *ScriptBlock:
			text = x.Node.Text
		case string:
			text = x
		default:
			text = ToString(v)
		}
		if _, err := opath.Parse(text); err != nil {
			return nil, fmt.Errorf("%s", opath.BindMessage(p.Name, err))
		}
		return strings.TrimSpace(text), nil
	}
	return v, nil
}
