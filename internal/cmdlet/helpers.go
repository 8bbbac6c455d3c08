package cmdlet

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Source names of the built-in helpers, as Get-Command shows them.
const (
	srcUtility  = "Microsoft.PowerShell.Utility"
	srcCore     = "Microsoft.PowerShell.Core"
	srcSecurity = "Microsoft.PowerShell.Security"
	SrcGate     = "Gatehouse"
)

// collectThen makes the Impl of a cmdlet that needs all its input before
// it can answer (sorting, grouping, tables, measuring, files): Process
// gathers the pipeline objects and end gets them all.
func collectThen(end func(ctx context.Context, c *Call, items []any) error) func() Impl {
	return func() Impl {
		var items []any
		return Impl{
			Process: func(ctx context.Context, c *Call) error {
				items = append(items, c.inputs()...)
				return nil
			},
			End: func(ctx context.Context, c *Call) error { return end(ctx, c, items) },
		}
	}
}

func inputObject() *Param {
	return &Param{Name: "InputObject", Type: TAny, FromPipeline: true, Help: "The objects to process; usually piped in."}
}

// Builtins returns the PowerShell helpers the shell provides: pipeline
// helpers, formatting, CSV and JSON, output, and help.
func Builtins() []*Cmdlet {
	return []*Cmdlet{
		whereObject(), forEachObject(), selectObject(), sortObject(), measureObject(), groupObject(),
		formatTable(), formatList(), exportCsv(), importCsv(), convertToJSON(), convertFromJSON(),
		getCommand(), getHelp(), getMember(), WriteHost(), writeOutput(), writeWarning(), WriteError(),
		writeVerbose(), convertToSecureString(), outNull(), outString(), outFile(), getDate(),
		startSleep(), clearHost(), exitShell(), getContent(), writeProgress(),
		startTranscript(), stopTranscript(),
	}
}

var comparisonSwitches = []string{"EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch", "Contains", "NotContains", "In", "NotIn", "CEQ", "CNE", "CLike", "CMatch"}

func whereObject() *Cmdlet {
	params := []*Param{
		{Name: "FilterScript", Type: TAny, Position: 1, Help: "A script block that returns $true for the objects to keep, with the object in $_, or (simplified syntax) the name of a property."},
		{Name: "Property", Type: TString, Help: "The property to compare (simplified syntax)."},
		{Name: "Value", Type: TAny, Position: 2, Help: "The value to compare the property with (simplified syntax)."},
		inputObject(),
		{Name: "Not", Type: TSwitch, Help: "Keeps objects whose property is false or missing (simplified syntax)."},
	}
	for _, sw := range comparisonSwitches {
		params = append(params, &Param{Name: sw, Type: TSwitch, Help: "Compares with -" + strings.ToLower(sw) + " (simplified syntax)."})
	}
	return &Cmdlet{
		Name: "Where-Object", Aliases: []string{"?", "where"}, Source: srcCore,
		Synopsis:    "Selects objects from a collection based on their property values.",
		Description: "Keeps the pipeline objects for which the script block returns a true value, or whose property compares as asked with the simplified syntax (Where-Object PopEnabled -eq $false).",
		Params:      params,
		Examples: []Example{
			{Code: "Get-CASMailbox | Where-Object { $_.PopEnabled -eq $true }", Remarks: "Lists the mailboxes that may still use POP3."},
			{Code: "Get-CASMailbox | Where-Object ImapEnabled -eq $false", Remarks: "The same kind of filter in the simplified syntax."},
		},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				if !c.HasInput {
					return nil
				}
				fs, _ := c.Get("FilterScript")
				if sb, ok := fs.(*ScriptBlock); ok {
					v, err := c.s.blockValue(ctx, sb, c.Input)
					if err != nil {
						return err
					}
					if isTrue(v) {
						return c.Emit(c.Input)
					}
					return nil
				}
				prop := c.String("Property")
				if prop == "" {
					prop = ToString(fs)
				}
				if prop == "" {
					return &Error{Source: c.Cmdlet.Name, Msg: "Supply a script block, as in Where-Object { $_.Name -like 'a*' }, or a property name, as in Where-Object Name -like 'a*'."}
				}
				pv, _ := property(c.Input, prop)
				value, hasValue := c.Get("Value")
				op := ""
				for _, sw := range comparisonSwitches {
					if c.Switch(sw) {
						op = "-" + strings.ToLower(sw)
					}
				}
				var keep bool
				switch {
				case c.Switch("Not"):
					keep = !isTrue(pv)
				case op == "" && !hasValue:
					keep = isTrue(pv)
				default:
					if op == "" {
						op = "-eq"
					}
					r, err := binaryOp(c.s, op, pv, value)
					if err != nil {
						return err
					}
					keep = isTrue(r)
				}
				if keep {
					return c.Emit(c.Input)
				}
				return nil
			}}
		},
	}
}

func forEachObject() *Cmdlet {
	return &Cmdlet{
		Name: "ForEach-Object", Aliases: []string{"%", "foreach"}, Source: srcCore,
		Synopsis:    "Performs an operation against each item in a collection of input objects.",
		Description: "Runs the -Process script block once for each pipeline object, with the object in $_; -Begin runs before the first object and -End after the last. A property name instead of a script block writes that property of each object.",
		Params: []*Param{
			{Name: "Process", Type: TAny, Position: 1, Help: "The script block to run for each object, or the name of a property to write."},
			{Name: "Begin", Type: TScriptBlock, Help: "A script block to run before the first object."},
			{Name: "End", Type: TScriptBlock, Help: "A script block to run after the last object."},
			{Name: "MemberName", Type: TString, Help: "The property to write for each object."},
			inputObject(),
		},
		Examples: []Example{
			{Code: "Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }", Remarks: "Disables IMAP4 for every mailbox listed in the Alias column of users.csv."},
			{Code: "Get-Mailbox | ForEach-Object Name", Remarks: "Writes the name of each mailbox."},
		},
		New: func() Impl {
			return Impl{
				Begin: func(ctx context.Context, c *Call) error {
					if b, ok := c.Get("Begin"); ok && b != nil {
						return c.s.invokeBlock(ctx, b.(*ScriptBlock), nil, c.Emit)
					}
					return nil
				},
				Process: func(ctx context.Context, c *Call) error {
					if m := c.String("MemberName"); m != "" {
						if c.HasInput {
							v, _ := property(c.Input, m)
							return emitEnumerated(v, c.Emit)
						}
						return nil
					}
					p, _ := c.Get("Process")
					switch x := p.(type) {
					case *ScriptBlock:
						return c.s.invokeBlock(ctx, x, c.Input, c.Emit)
					case nil:
						return nil
					case []any:
						for _, e := range x {
							if sb, ok := e.(*ScriptBlock); ok {
								if err := c.s.invokeBlock(ctx, sb, c.Input, c.Emit); err != nil {
									return err
								}
							}
						}
						return nil
					default:
						if c.HasInput {
							v, _ := property(c.Input, ToString(x))
							return emitEnumerated(v, c.Emit)
						}
						return nil
					}
				},
				End: func(ctx context.Context, c *Call) error {
					if e, ok := c.Get("End"); ok && e != nil {
						return c.s.invokeBlock(ctx, e.(*ScriptBlock), nil, c.Emit)
					}
					return nil
				},
			}
		},
	}
}

// inputs returns the objects a cmdlet works on when it heads a pipeline
// with -InputObject: the value's elements.
func (c *Call) inputs() []any {
	if c.HasInput {
		return []any{c.Input}
	}
	if v, ok := c.Get("InputObject"); ok {
		return ToArray(v)
	}
	return nil
}

func selectObject() *Cmdlet {
	return &Cmdlet{
		Name: "Select-Object", Aliases: []string{"select"}, Source: srcUtility,
		Synopsis:    "Selects objects or object properties.",
		Description: "Writes new objects with only the properties named by -Property (wildcards and calculated properties @{Name='...'; Expression={...}} allowed), the value of one property with -ExpandProperty, or only the first, last or unique objects.",
		Params: []*Param{
			{Name: "Property", Type: TProperties, Position: 1, Help: "The properties to keep: names, wildcards, or @{Name=...; Expression={...}}."},
			{Name: "ExpandProperty", Type: TString, Help: "Writes the value of this property instead of the object."},
			{Name: "ExcludeProperty", Type: TStrings, Help: "Properties to leave out."},
			{Name: "First", Type: TInt, Help: "Writes only the first N objects and stops the commands before it."},
			{Name: "Last", Type: TInt, Help: "Writes only the last N objects."},
			{Name: "Skip", Type: TInt, Help: "Skips the first N objects."},
			{Name: "Unique", Type: TSwitch, Help: "Writes each distinct object once."},
			inputObject(),
		},
		Examples: []Example{
			{Code: "Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation", Remarks: "Saves the names of the mailboxes that may use POP3."},
			{Code: "Get-Mailbox | Select-Object -First 5", Remarks: "The first five mailboxes."},
			{Code: "Get-Mailbox | Select-Object -ExpandProperty PrimarySmtpAddress", Remarks: "Just the addresses, as text."},
		},
		New: func() Impl {
			var specs []propSpec
			var buf []any
			count := int64(0)
			skipped := int64(0)
			return Impl{
				Begin: func(ctx context.Context, c *Call) error {
					if v, ok := c.Get("Property"); ok {
						var err error
						specs, err = parsePropSpecs(v.([]any), c.Cmdlet.Name)
						return err
					}
					return nil
				},
				Process: func(ctx context.Context, c *Call) error {
					for _, in := range c.inputs() {
						if n, ok := c.Int("Skip"); ok && skipped < n {
							skipped++
							continue
						}
						if n, ok := c.Int("First"); ok && count >= n {
							return Stop()
						}
						outs, err := selectOne(ctx, c, in, specs)
						if err != nil {
							return err
						}
						if _, ok := c.Get("Last"); ok || c.Switch("Unique") {
							buf = append(buf, outs...)
							continue
						}
						count++
						for _, o := range outs {
							if err := c.Emit(o); err != nil {
								return err
							}
						}
						if n, ok := c.Int("First"); ok && count >= n {
							return Stop()
						}
					}
					return nil
				},
				End: func(ctx context.Context, c *Call) error {
					if c.Switch("Unique") {
						var uniq []any
						for _, b := range buf {
							dup := false
							for _, u := range uniq {
								if sameObject(u, b) {
									dup = true
									break
								}
							}
							if !dup {
								uniq = append(uniq, b)
							}
						}
						buf = uniq
						if n, ok := c.Int("First"); ok && int64(len(buf)) > n {
							buf = buf[:n]
						}
					}
					if n, ok := c.Int("Last"); ok && int64(len(buf)) > n {
						buf = buf[int64(len(buf))-n:]
					}
					return c.EmitAll(buf)
				},
			}
		},
	}
}

func sameObject(a, b any) bool {
	ao, ok1 := a.(*Object)
	bo, ok2 := b.(*Object)
	if ok1 && ok2 {
		if len(ao.names) != len(bo.names) {
			return false
		}
		for i, n := range ao.names {
			bv, ok := bo.Get(n)
			if !ok || !equalValues(ao.values[i], bv, true) && ToString(ao.values[i]) != ToString(bv) {
				return false
			}
		}
		return true
	}
	return equalValues(a, b, true)
}

func selectOne(ctx context.Context, c *Call, in any, specs []propSpec) ([]any, error) {
	out := in
	if specs != nil {
		entries, err := c.s.resolveProps(ctx, in, specs, true)
		if err != nil {
			return nil, err
		}
		o := NewObject("Selected." + typeName(in))
		excl := c.Strings("ExcludeProperty")
		for _, e := range entries {
			skip := false
			for _, x := range excl {
				if Like(x, e.name, false) {
					skip = true
				}
			}
			if !skip {
				o.Set(e.name, e.value)
			}
		}
		out = o
	}
	if name := c.String("ExpandProperty"); name != "" {
		v, ok := property(in, name)
		if !ok {
			if err := c.WriteError(fmt.Sprintf("Property %q cannot be found.", name)); err != nil {
				return nil, err
			}
			return nil, nil
		}
		return ToArray(v), nil
	}
	return []any{out}, nil
}

func sortObject() *Cmdlet {
	return &Cmdlet{
		Name: "Sort-Object", Aliases: []string{"sort"}, Source: srcUtility,
		Synopsis:    "Sorts objects by property values.",
		Description: "Sorts the pipeline objects by the given properties (or script blocks, or @{Expression=...; Descending=$true}), text case-insensitively, in a stable order.",
		Params: []*Param{
			{Name: "Property", Type: TProperties, Position: 1, Help: "The properties to sort by, in order of importance."},
			{Name: "Descending", Type: TSwitch, Help: "Sorts from highest to lowest."},
			{Name: "Unique", Type: TSwitch, Help: "Writes each distinct value once."},
			{Name: "CaseSensitive", Type: TSwitch, Help: "Sorts text case-sensitively."},
			inputObject(),
		},
		Examples: []Example{{Code: "Get-Mailbox | Sort-Object Name -Descending", Remarks: "Mailboxes in reverse order of name."}},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			var specs []propSpec
			var desc []bool
			if v, ok := c.Get("Property"); ok {
				var err error
				specs, err = parsePropSpecs(v.([]any), c.Cmdlet.Name)
				if err != nil {
					return err
				}
				for _, raw := range v.([]any) {
					d := c.Switch("Descending")
					if h, ok := raw.(*Hashtable); ok {
						if dv, ok := h.Get("Descending"); ok {
							d = isTrue(dv)
						}
						if av, ok := h.Get("Ascending"); ok {
							d = !isTrue(av)
						}
					}
					desc = append(desc, d)
				}
			}
			keys := make([][]any, len(items))
			for i, it := range items {
				if specs == nil {
					keys[i] = []any{sortKey(it)}
					continue
				}
				entries, err := c.s.resolveProps(ctx, it, specs, true)
				if err != nil {
					return err
				}
				for _, e := range entries {
					keys[i] = append(keys[i], e.value)
				}
			}
			idx := make([]any, len(items))
			for i := range items {
				idx[i] = i
			}
			cs := c.Switch("CaseSensitive")
			cmp := func(a, b any) int {
				ka, kb := keys[a.(int)], keys[b.(int)]
				for k := 0; k < len(ka) && k < len(kb); k++ {
					r, ok := compareValues(ka[k], kb[k], cs)
					if !ok {
						r = strings.Compare(strings.ToLower(ToString(ka[k])), strings.ToLower(ToString(kb[k])))
					}
					d := c.Switch("Descending")
					if k < len(desc) {
						d = desc[k]
					}
					if d {
						r = -r
					}
					if r != 0 {
						return r
					}
				}
				return 0
			}
			sortValues(idx, cmp)
			var last any
			for n, i := range idx {
				if c.Switch("Unique") && n > 0 && cmp(last, i) == 0 {
					continue
				}
				last = i
				if err := c.Emit(items[i.(int)]); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

// sortKey is what an object sorts by when no property is given.
func sortKey(v any) any {
	if o, ok := v.(*Object); ok {
		return objectString(o)
	}
	return v
}

func measureObject() *Cmdlet {
	return &Cmdlet{
		Name: "Measure-Object", Aliases: []string{"measure"}, Source: srcUtility,
		Synopsis:    "Counts objects and calculates the sum, average, minimum and maximum of a property.",
		Description: "Counts the pipeline objects; with -Property and -Sum, -Average, -Maximum or -Minimum it also calculates those figures over the property's numeric values.",
		Params: []*Param{
			{Name: "Property", Type: TStrings, Position: 1, Help: "The numeric properties to measure."},
			{Name: "Sum", Type: TSwitch}, {Name: "Average", Type: TSwitch}, {Name: "Maximum", Type: TSwitch}, {Name: "Minimum", Type: TSwitch},
			inputObject(),
		},
		Examples: []Example{
			{Code: "Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Measure-Object", Remarks: "How many mailboxes may still use POP3."},
		},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			props := c.Strings("Property")
			if len(props) == 0 {
				props = []string{""}
			}
			for _, p := range props {
				var count int64
				var sum float64
				var minV, maxV any
				numeric := true
				for _, it := range items {
					v := it
					if p != "" {
						pv, ok := property(it, p)
						if !ok {
							continue
						}
						v = pv
					}
					count++
					if f, ok := toFloat(v); ok && v != nil {
						sum += f
					} else {
						numeric = false
					}
					if minV == nil {
						minV, maxV = v, v
					} else {
						if r, ok := compareValues(v, minV, false); ok && r < 0 {
							minV = v
						}
						if r, ok := compareValues(v, maxV, false); ok && r > 0 {
							maxV = v
						}
					}
				}
				if p != "" && count == 0 && len(items) > 0 {
					if err := c.WriteError(fmt.Sprintf("The property %q cannot be found in the input for any objects.", p)); err != nil {
						return err
					}
					continue
				}
				o := NewObject("Microsoft.PowerShell.Commands.GenericMeasureInfo")
				o.Set("Count", count)
				o.Set("Average", nil)
				o.Set("Sum", nil)
				o.Set("Maximum", nil)
				o.Set("Minimum", nil)
				o.Set("Property", nilIfEmpty(p))
				if (c.Switch("Sum") || c.Switch("Average")) && !numeric {
					return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Input object %q is not numeric.", p)}
				}
				if c.Switch("Sum") {
					o.Set("Sum", numberValue(sum))
				}
				if c.Switch("Average") && count > 0 {
					o.Set("Average", sum/float64(count))
				}
				if c.Switch("Maximum") {
					o.Set("Maximum", maxV)
				}
				if c.Switch("Minimum") {
					o.Set("Minimum", minV)
				}
				if err := c.Emit(o); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func numberValue(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

func groupObject() *Cmdlet {
	return &Cmdlet{
		Name: "Group-Object", Aliases: []string{"group"}, Source: srcUtility,
		Synopsis:    "Groups objects that have the same value for a property.",
		Description: "Writes one object per distinct value of the property: Count, Name (the value) and Group (the objects).",
		Params: []*Param{
			{Name: "Property", Type: TProperties, Position: 1, Mandatory: true, Help: "The property to group by."},
			{Name: "NoElement", Type: TSwitch, Help: "Leaves the Group property out."},
			inputObject(),
		},
		Examples: []Example{{Code: "Get-CASMailbox | Group-Object PopEnabled", Remarks: "How many mailboxes have POP3 on and off."}},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			v, _ := c.Get("Property")
			specs, err := parsePropSpecs(v.([]any), c.Cmdlet.Name)
			if err != nil {
				return err
			}
			type group struct {
				name  string
				items []any
			}
			var groups []*group
			byName := map[string]*group{}
			for _, it := range items {
				entries, err := c.s.resolveProps(ctx, it, specs, true)
				if err != nil {
					return err
				}
				var parts []string
				for _, e := range entries {
					parts = append(parts, ToString(e.value))
				}
				name := strings.Join(parts, ", ")
				k := strings.ToLower(name)
				g, ok := byName[k]
				if !ok {
					g = &group{name: name}
					byName[k] = g
					groups = append(groups, g)
				}
				g.items = append(g.items, it)
			}
			for _, g := range groups {
				o := NewObject("Microsoft.PowerShell.Commands.GroupInfo")
				o.Set("Count", int64(len(g.items)))
				o.Set("Name", g.name)
				if !c.Switch("NoElement") {
					o.Set("Group", g.items)
				}
				if err := c.Emit(o); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

func formatTable() *Cmdlet {
	return &Cmdlet{
		Name: "Format-Table", Aliases: []string{"ft"}, Source: srcUtility,
		Synopsis:    "Formats the output as a table.",
		Description: "Shows the pipeline objects as a table of the given properties (wildcards and calculated properties allowed), or of their default view. Columns fit their widest value; when the table is wider than the terminal, the widest columns give way down to their header's width (values cut with '…', or wrapped with -Wrap), and columns that still do not fit are left out with a warning, as PowerShell does.",
		Params: []*Param{
			{Name: "Property", Type: TProperties, Position: 1, Help: "The properties to show as columns."},
			{Name: "AutoSize", Type: TSwitch, Help: "Sizes the columns to their contents (always the case here)."},
			{Name: "HideTableHeaders", Type: TSwitch, Help: "Leaves out the header and the dashes."},
			{Name: "Wrap", Type: TSwitch, Help: "Shows values that do not fit their column on several lines instead of cutting them."},
			{Name: "GroupBy", Type: TString, Help: "Starts a new table, headed by the property's value, whenever the value changes (sort by it first, as in PowerShell)."},
			inputObject(),
		},
		Examples: []Example{
			{Code: "Get-CASMailbox | Format-Table Name,Pop*,Imap* -AutoSize", Remarks: "A table of the POP3 and IMAP4 settings."},
			{Code: "Get-CASMailbox | Sort-Object PopEnabled | Format-Table Name,ImapEnabled -GroupBy PopEnabled", Remarks: "One table per POP3 setting."},
		},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			if len(items) == 0 {
				return nil
			}
			pieces, err := c.s.formatTable(ctx, c, items)
			if err != nil {
				return err
			}
			text, dropped := renderPieces(pieces, c.s.width())
			if dropped > 0 {
				if err := c.WriteWarning(fmt.Sprintf("%d columns do not fit into the display and were removed.", dropped)); err != nil {
					return err
				}
			}
			// Out-String -Width and Out-File -Width lay the table out again.
			return c.Emit(&FormatOutput{Text: text, width: c.s.width(), relayout: func(w int) string {
				t, _ := renderPieces(pieces, w)
				return t
			}})
		}),
	}
}

// tablePiece is one part of Format-Table's output: a table, laid out at
// the width it is rendered at, or fixed text.
type tablePiece struct {
	text string
	cols []column // nil: text
	rows [][]string
	opts tableOpts
}

// renderPieces lays the pieces out at width and says how many columns
// were left out.
func renderPieces(pieces []tablePiece, width int) (string, int) {
	var b strings.Builder
	dropped := 0
	for _, p := range pieces {
		if p.cols == nil {
			b.WriteString(p.text)
			continue
		}
		opts := p.opts
		opts.width = width
		t, d := layoutTable(p.cols, p.rows, opts)
		b.WriteString(t)
		dropped = max(dropped, d)
	}
	return b.String(), dropped
}

func (s *Session) formatTable(ctx context.Context, c *Call, items []any) ([]tablePiece, error) {
	by := c.String("GroupBy")
	if by == "" {
		return s.formatTableGroup(ctx, c, items)
	}
	// PowerShell starts a group wherever the value changes; it does not
	// sort.
	var out []tablePiece
	for i := 0; i < len(items); {
		key := groupValue(items[i], by)
		j := i + 1
		for j < len(items) && groupValue(items[j], by) == key {
			j++
		}
		t, err := s.formatTableGroup(ctx, c, items[i:j])
		if err != nil {
			return nil, err
		}
		out = append(out, tablePiece{text: "\n   " + by + ": " + key + "\n"})
		out = append(out, t...)
		i = j
	}
	return out, nil
}

// groupValue is the text of an object's property that -GroupBy compares.
func groupValue(item any, name string) string {
	v, _ := property(item, name)
	return DisplayValue(v)
}

func (s *Session) formatTableGroup(ctx context.Context, c *Call, items []any) ([]tablePiece, error) {
	v, hasProps := c.Get("Property")
	if !hasProps {
		var out []tablePiece
		i := 0
		for i < len(items) {
			j := i + 1
			for j < len(items) && typeKey(items[j]) == typeKey(items[i]) {
				j++
			}
			if _, ok := items[i].(*Object); ok {
				names := propertyNames(items[i])
				if view, ok := defaultViews[items[i].(*Object).TypeName]; ok && len(view.Columns) > 0 {
					names = view.Columns
				}
				specs := make([]propSpec, len(names))
				for k, n := range names {
					specs[k] = propSpec{name: n}
				}
				t, err := s.tableOf(ctx, c, items[i:j], specs)
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			} else {
				out = append(out, tablePiece{text: renderDefault(items[i:j], s.width())})
			}
			i = j
		}
		return out, nil
	}
	specs, err := parsePropSpecs(v.([]any), c.Cmdlet.Name)
	if err != nil {
		return nil, err
	}
	t, err := s.tableOf(ctx, c, items, specs)
	if err != nil {
		return nil, err
	}
	return []tablePiece{t}, nil
}

// tableOf makes items a table of specs; wildcards expand against the
// first object, as PowerShell does.
func (s *Session) tableOf(ctx context.Context, c *Call, items []any, specs []propSpec) (tablePiece, error) {
	first, err := s.resolveProps(ctx, items[0], specs, true)
	if err != nil {
		return tablePiece{}, err
	}
	cols := make([]column, len(first))
	fixed := make([]propSpec, len(first))
	for i, e := range first {
		cols[i] = column{name: e.name}
		fixed[i] = propSpec{name: e.name}
		for _, sp := range specs {
			if sp.calc && sp.name == e.name {
				fixed[i] = sp
			}
		}
	}
	rows := make([][]string, len(items))
	for r, it := range items {
		entries, err := s.resolveProps(ctx, it, fixed, true)
		if err != nil {
			return tablePiece{}, err
		}
		rows[r] = make([]string, len(cols))
		for i := range cols {
			if i < len(entries) {
				rows[r][i] = DisplayValue(entries[i].value)
				if isNumber(entries[i].value) {
					cols[i].right = true
				}
			}
		}
	}
	return tablePiece{cols: cols, rows: rows, opts: tableOpts{wrap: c.Switch("Wrap"), hideHeaders: c.Switch("HideTableHeaders"), drop: true}}, nil
}

func formatList() *Cmdlet {
	return &Cmdlet{
		Name: "Format-List", Aliases: []string{"fl"}, Source: srcUtility,
		Synopsis:    "Formats the output as a list of properties in which each property appears on a new line.",
		Description: "Shows each pipeline object as 'Name : Value' lines: the properties given (wildcards such as Pop* allowed, * for all), or all of them.",
		Params: []*Param{
			{Name: "Property", Type: TProperties, Position: 1, Help: "The properties to show; wildcards allowed."},
			inputObject(),
		},
		Examples: []Example{
			{Code: "Get-CASMailbox -Identity \"Christa Knapp\" | Format-List Pop*,Imap*", Remarks: "Christa Knapp's POP3 and IMAP4 settings, including the effective state and the last use."},
			{Code: "Get-OrganizationConfig | Format-List SecurityDefaultsEnabled", Remarks: "Whether security defaults block POP3 and IMAP4 for everyone."},
		},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			if len(items) == 0 {
				return nil
			}
			var specs []propSpec
			if v, ok := c.Get("Property"); ok {
				var err error
				specs, err = parsePropSpecs(v.([]any), c.Cmdlet.Name)
				if err != nil {
					return err
				}
			} else {
				specs = []propSpec{{name: "*", wildcard: true}}
			}
			props := make([][]listEntry, len(items))
			for i, it := range items {
				if _, ok := it.(*Object); !ok {
					if _, ok := it.(*Hashtable); !ok {
						props[i] = []listEntry{{name: "", value: ToString(it)}}
						continue
					}
				}
				entries, err := c.s.resolveProps(ctx, it, specs, false)
				if err != nil {
					return err
				}
				for _, e := range entries {
					props[i] = append(props[i], listEntry{e.name, DisplayValue(e.value)})
				}
			}
			return c.Emit(&FormatOutput{Text: renderList(items, props)})
		}),
	}
}

func WriteHost() *Cmdlet {
	colors := []string{"Black", "DarkBlue", "DarkGreen", "DarkCyan", "DarkRed", "DarkMagenta", "DarkYellow", "Gray", "DarkGray", "Blue", "Green", "Cyan", "Red", "Magenta", "Yellow", "White"}
	return &Cmdlet{
		Name: "Write-Host", Source: srcUtility,
		Synopsis:    "Writes text to the screen.",
		Description: "Writes the objects to the screen, separated by spaces (or -Separator); the text does not enter the pipeline.",
		Params: []*Param{
			{Name: "Object", Type: TAny, Position: 1, Remaining: true, FromPipeline: true, Help: "What to write."},
			{Name: "NoNewline", Type: TSwitch, Help: "Does not end the line."},
			{Name: "Separator", Type: TString, Help: "Text between the objects; a space by default."},
			{Name: "ForegroundColor", Type: TEnum, Enum: colors, Help: "Text color."},
			{Name: "BackgroundColor", Type: TEnum, Enum: colors, Help: "Background color."},
		},
		Examples: []Example{{Code: "Write-Host \"Done:\" $count \"mailboxes\"", Remarks: "Writes one line of text."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				v, _ := c.Get("Object")
				sep := " "
				if c.Has("Separator") {
					sep = c.String("Separator")
				}
				var parts []string
				for _, e := range ToArray(v) {
					if arr, ok := e.([]any); ok {
						for _, x := range arr {
							parts = append(parts, ToString(x))
						}
						continue
					}
					parts = append(parts, ToString(e))
				}
				c.s.flushOutput()
				text := strings.Join(parts, sep)
				if col := c.String("ForegroundColor"); col != "" && c.s.host.Color {
					text = ansiColor(col) + text + "\x1b[0m"
				}
				if c.Switch("NoNewline") {
					fmt.Fprint(c.s.host.Out, text)
				} else {
					fmt.Fprintln(c.s.host.Out, text)
				}
				return nil
			}}
		},
	}
}

func ansiColor(name string) string {
	codes := map[string]string{
		"black": "30", "darkred": "31", "darkgreen": "32", "darkyellow": "33", "darkblue": "34", "darkmagenta": "35", "darkcyan": "36", "gray": "37",
		"darkgray": "90", "red": "91", "green": "92", "yellow": "93", "blue": "94", "magenta": "95", "cyan": "96", "white": "97",
	}
	if code, ok := codes[strings.ToLower(name)]; ok {
		return "\x1b[" + code + "m"
	}
	return ""
}

func writeOutput() *Cmdlet {
	return &Cmdlet{
		Name: "Write-Output", Aliases: []string{"echo", "write"}, Source: srcUtility,
		Synopsis:    "Writes objects to the pipeline.",
		Description: "Sends the objects to the next command; at the end of the pipeline they are displayed.",
		Params: []*Param{
			{Name: "InputObject", Type: TAny, Position: 1, Remaining: true, FromPipeline: true, Mandatory: true, Help: "The objects to write."},
			{Name: "NoEnumerate", Type: TSwitch, Help: "Writes an array as one object."},
		},
		Examples: []Example{{Code: "Write-Output 'one' 'two'", Remarks: "Writes two strings."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				v, _ := c.Get("InputObject")
				if c.Switch("NoEnumerate") {
					return c.Emit(v)
				}
				return emitEnumerated(v, c.Emit)
			}}
		},
	}
}

func writeWarning() *Cmdlet {
	return &Cmdlet{
		Name: "Write-Warning", Source: srcUtility,
		Synopsis: "Writes a warning message.",
		Params:   []*Param{{Name: "Message", Type: TString, Position: 1, Mandatory: true, FromPipeline: true}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error { return c.WriteWarning(c.String("Message")) }}
		},
	}
}

func WriteError() *Cmdlet {
	return &Cmdlet{
		Name: "Write-Error", Source: srcUtility,
		Synopsis: "Writes an error.",
		Params:   []*Param{{Name: "Message", Type: TString, Position: 1, Mandatory: true, FromPipeline: true}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error { return c.WriteError(c.String("Message")) }}
		},
	}
}

func writeVerbose() *Cmdlet {
	return &Cmdlet{
		Name: "Write-Verbose", Source: srcUtility,
		Synopsis: "Writes a message when -Verbose is given.",
		Params:   []*Param{{Name: "Message", Type: TString, Position: 1, Mandatory: true, FromPipeline: true}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				if c.Switch("Verbose") {
					fmt.Fprintln(c.s.host.Err, "VERBOSE: "+c.String("Message"))
				}
				return nil
			}}
		},
	}
}

func convertToSecureString() *Cmdlet {
	return &Cmdlet{
		Name: "ConvertTo-SecureString", Source: srcSecurity,
		Synopsis:    "Converts plain text to a secure string, for -Password parameters.",
		Description: "Turns a password typed as text into the secure string that New-Mailbox -Password and Set-Mailbox -Password take. Only -AsPlainText is supported.",
		Params: []*Param{
			{Name: "String", Type: TString, Position: 1, Mandatory: true, FromPipeline: true, Help: "The password."},
			{Name: "AsPlainText", Type: TSwitch, Help: "The string is plain text."},
			{Name: "Force", Type: TSwitch, Help: "Confirms that the plain text is meant."},
		},
		Examples: []Example{{Code: "New-Mailbox -Name 'Chris' -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)", Remarks: "Creates a mailbox with a password."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				if !c.Switch("AsPlainText") {
					return &Error{Source: c.Cmdlet.Name, Msg: "Only -AsPlainText is supported: ConvertTo-SecureString -String '...' -AsPlainText -Force."}
				}
				return c.Emit(&SecureString{plain: c.String("String")})
			}}
		},
	}
}

func outNull() *Cmdlet {
	return &Cmdlet{
		Name: "Out-Null", Source: srcCore, Synopsis: "Discards the output.",
		Params: []*Param{inputObject()},
		New:    func() Impl { return Impl{} },
	}
}

func outString() *Cmdlet {
	return &Cmdlet{
		Name: "Out-String", Source: srcUtility, Synopsis: "Renders objects as text, as they would be displayed.",
		Params: []*Param{inputObject(), {Name: "Stream", Type: TSwitch, Help: "Writes one string per line."},
			{Name: "Width", Type: TInt, Help: "The width of the lines, as if the terminal were that wide (default: the terminal's, else 120)."}},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			text, err := c.renderWidth(items)
			if err != nil {
				return err
			}
			if c.Switch("Stream") {
				for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
					if err := c.Emit(l); err != nil {
						return err
					}
				}
				return nil
			}
			return c.Emit(text)
		}),
	}
}

// renderWidth renders objects as Out-Default would, at the width of the
// cmdlet's -Width parameter when it has one (Out-String, Out-File).
func (c *Call) renderWidth(items []any) (string, error) {
	w, ok := c.Int("Width")
	if !ok {
		return c.s.render(items), nil
	}
	if w < 2 {
		return "", &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot validate argument on parameter 'Width'. The %d argument is less than the minimum allowed range of 2. Supply an argument that is greater than or equal to 2 and then try the command again.", w)}
	}
	saved := c.s.host.Width
	c.s.host.Width = int(min(w, 1<<16))
	defer func() { c.s.host.Width = saved }()
	return c.s.render(items), nil
}

// render renders objects as Out-Default would.
func (s *Session) render(items []any) string {
	var b strings.Builder
	saved := s.host.Out
	s.host.Out = &b
	out := newOutDefault(s)
	for _, it := range items {
		_ = out.write(it)
	}
	out.flush()
	s.host.Out = saved
	return b.String()
}

func getDate() *Cmdlet {
	return &Cmdlet{
		Name: "Get-Date", Source: srcUtility, Synopsis: "Gets the current date and time, or converts a date.",
		Params: []*Param{
			{Name: "Date", Type: TDateTime, Position: 1, FromPipeline: true, Help: "The date to use instead of now."},
			{Name: "Format", Type: TString, Help: "A .NET format string such as yyyy-MM-dd."},
		},
		Examples: []Example{{Code: "Search-AdminAuditLog -StartDate (Get-Date).AddDays(-7)", Remarks: "Audit records of the last week."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				t := c.s.now()
				if v, ok := c.Get("Date"); ok && v != nil {
					t = v.(time.Time)
				}
				if f := c.String("Format"); f != "" {
					return c.Emit(formatDate(t, f))
				}
				return c.Emit(t)
			}}
		},
	}
}

func startSleep() *Cmdlet {
	return &Cmdlet{
		Name: "Start-Sleep", Aliases: []string{"sleep"}, Source: srcUtility, Synopsis: "Waits.",
		Params: []*Param{
			{Name: "Seconds", Type: TAny, Position: 1},
			{Name: "Milliseconds", Type: TInt},
		},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				var d time.Duration
				if v, ok := c.Get("Seconds"); ok {
					f, ok := toFloat(v)
					if !ok {
						return &Error{Source: c.Cmdlet.Name, Msg: "Cannot convert -Seconds to a number."}
					}
					d = time.Duration(f * float64(time.Second))
				}
				if ms, ok := c.Int("Milliseconds"); ok {
					d += time.Duration(ms) * time.Millisecond
				}
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
		},
	}
}

func clearHost() *Cmdlet {
	return &Cmdlet{
		Name: "Clear-Host", Aliases: []string{"cls", "clear"}, Source: srcCore, Synopsis: "Clears the screen.",
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				if c.s.host.Color {
					fmt.Fprint(c.s.host.Out, "\x1b[H\x1b[2J")
				}
				return nil
			}}
		},
	}
}

func exitShell() *Cmdlet {
	return &Cmdlet{
		Name: "Exit-Shell", Aliases: []string{"exit", "quit"}, Source: SrcGate,
		Synopsis:    "Leaves the shell.",
		Description: "Ends the shell; in a script or -c, the exit status is -Code (0 by default).",
		Params:      []*Param{{Name: "Code", Type: TInt, Position: 1, Help: "The exit status."}},
		Examples:    []Example{{Code: "if ((Get-CASMailbox -Filter \"PopEnabled -eq `$true\").Count -gt 0) { exit 1 }", Remarks: "In a script: fails when a mailbox may still use POP3."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				code, _ := c.Int("Code")
				return &errExit{code: int(code)}
			}}
		},
	}
}
