package cmdlet

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// View is the default way a type is shown (PowerShell's format data).
type View struct {
	List    bool     // Format-List rather than a table
	Columns []string // the properties a table shows
}

// defaultViews are the default views of the objects the cmdlets write:
// Get-CASMailbox's default table is Name, PopEnabled, ImapEnabled, as in
// Exchange.
var defaultViews = map[string]View{
	"Gatehouse.CASMailbox":                             {Columns: []string{"Name", "PopEnabled", "ImapEnabled"}},
	"Gatehouse.Mailbox":                                {Columns: []string{"Name", "Alias", "PrimarySmtpAddress"}},
	"Gatehouse.MailboxStatistics":                      {Columns: []string{"DisplayName", "ItemCount", "TotalItemSize", "StorageLimitStatus"}},
	"Gatehouse.CASMailboxPlan":                         {Columns: []string{"Name", "PopEnabled", "ImapEnabled"}},
	"Gatehouse.DailyActiveUsers":                       {Columns: []string{"Date", "PopUsers", "ImapUsers"}},
	"Gatehouse.RoleGroup":                              {Columns: []string{"Name", "Description"}},
	"Gatehouse.RoleGroupMember":                        {Columns: []string{"Name", "RecipientType"}},
	"Gatehouse.User":                                   {Columns: []string{"Name", "RecipientType"}},
	"Gatehouse.Recipient":                              {Columns: []string{"Name", "RecipientType"}},
	"Gatehouse.ManagementRoleAssignment":               {Columns: []string{"Name", "Role", "RoleAssigneeName", "RoleAssigneeType", "AssignmentMethod"}},
	"Gatehouse.OrganizationConfig":                     {List: true},
	"Gatehouse.AdminAuditLogEntry":                     {List: true},
	"Gatehouse.EmailAppUsage":                          {Columns: []string{"UserPrincipalName", "DisplayName", "LastPopDate", "LastImapDate"}},
	"System.Management.Automation.CommandInfo":         {Columns: []string{"CommandType", "Name", "Source"}},
	"Microsoft.PowerShell.Commands.GenericMeasureInfo": {List: true},
}

// outDefault writes a statement's output to the host as PowerShell's
// Out-Default does: objects through their default view, text as it is.
// Objects are buffered per run of one type so that a table's columns fit
// all rows; long runs are written in chunks.
type outDefault struct {
	s       *Session
	pending []any
}

const outChunk = 2000

func newOutDefault(s *Session) *outDefault { return &outDefault{s: s} }

func (o *outDefault) write(v any) error {
	switch x := v.(type) {
	case *Object, *Hashtable:
		if len(o.pending) > 0 && typeKey(o.pending[0]) != typeKey(x) {
			o.flush()
		}
		o.pending = append(o.pending, x)
		if len(o.pending) >= outChunk {
			o.flush()
		}
		return nil
	case nil:
		return nil
	case *FormatOutput:
		o.flush()
		fmt.Fprint(o.s.host.Out, x.at(o.s.width()))
		return nil
	}
	o.flush()
	fmt.Fprintln(o.s.host.Out, ToString(v))
	return nil
}

func typeKey(v any) string {
	switch x := v.(type) {
	case *Object:
		return "o:" + x.TypeName + ":" + strings.Join(x.Names(), ",")
	case *Hashtable:
		return "h"
	}
	return fmt.Sprintf("%T", v)
}

func (o *outDefault) flush() {
	if len(o.pending) == 0 {
		return
	}
	items := o.pending
	o.pending = nil
	fmt.Fprint(o.s.host.Out, renderDefault(items, o.s.width()))
}

func (s *Session) width() int {
	if s.host.Width > 0 {
		return s.host.Width
	}
	return 120
}

// renderDefault renders objects of one type by their default view.
func renderDefault(items []any, width int) string {
	if h, ok := items[0].(*Hashtable); ok && len(items) == 1 {
		rows := make([][]string, 0, h.Len())
		for i, k := range h.keys {
			rows = append(rows, []string{ToString(k), DisplayValue(h.values[i])})
		}
		return renderTable([]column{{name: "Name"}, {name: "Value"}}, rows, width)
	}
	first, ok := items[0].(*Object)
	if !ok {
		var b strings.Builder
		for _, it := range items {
			b.WriteString(ToString(it) + "\n")
		}
		return b.String()
	}
	view, hasView := defaultViews[first.TypeName]
	if !hasView {
		// PowerShell: up to four properties make a table, more a list.
		view = View{List: len(first.Names()) > 4}
	}
	if view.List {
		return renderList(items, nil)
	}
	names := view.Columns
	if len(names) == 0 {
		names = first.Names()
	} else {
		// keep the view's columns that the objects have
		var have []string
		for _, n := range names {
			for _, it := range items {
				if o, ok := it.(*Object); ok && o.Has(n) {
					have = append(have, n)
					break
				}
			}
		}
		if len(have) > 0 {
			names = have
		} else {
			names = first.Names()
		}
	}
	cols := make([]column, len(names))
	rows := make([][]string, len(items))
	for i, n := range names {
		cols[i] = column{name: n}
	}
	for r, it := range items {
		rows[r] = make([]string, len(names))
		for i, n := range names {
			v, _ := property(it, n)
			rows[r][i] = DisplayValue(v)
			if isNumber(v) {
				cols[i].right = true
			}
		}
	}
	return renderTable(cols, rows, width)
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64, int:
		return true
	}
	return false
}

// DisplayValue renders a property value in a table or list cell.
func DisplayValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = elementText(e)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []string:
		return "{" + strings.Join(x, ", ") + "}"
	case time.Time:
		return formatTime(x)
	case *Hashtable:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = ToString(k) + "=" + ToString(x.values[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ToString(v)
}

type column struct {
	name  string
	right bool
	width int
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to w characters, ending in "…" when cut.
func truncate(s string, w int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + "…"
	}
	if runeLen(s) <= w {
		return s
	}
	if w <= 1 {
		return string([]rune(s)[:max(w, 0)])
	}
	return string([]rune(s)[:w-1]) + "…"
}

func pad(s string, w int, right bool) string {
	n := w - runeLen(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// renderTable lays out a PowerShell table: a blank line, the header, a
// line of dashes as long as each header, the rows, a blank line. Columns
// are as wide as their widest cell; when the table is wider than the
// terminal the widest columns give way and their cells end in "…".
func renderTable(cols []column, rows [][]string, width int) string {
	t, _ := layoutTable(cols, rows, tableOpts{width: width})
	return t
}

// tableOpts are Format-Table's layout choices.
type tableOpts struct {
	width       int
	wrap        bool // -Wrap: long cells go on over several lines instead of ending in "…"
	hideHeaders bool // -HideTableHeaders
	// drop lets the last columns go when the others, each cut to its
	// floor, still do not fit; layoutTable says how many went, for the
	// warning Format-Table writes as PowerShell does.
	drop bool
}

// columnFloor is the narrowest a column is cut to while others are wider:
// its whole header, at least 6, never more than it needs.
func columnFloor(c column, natural int) int {
	return min(natural, max(runeLen(c.name), 6))
}

// layoutTable renders a table as renderTable describes, with opts, and
// returns how many trailing columns it left out.
func layoutTable(cols []column, rows [][]string, opts tableOpts) (string, int) {
	width := opts.width
	cols = append([]column(nil), cols...)
	for i := range cols {
		cols[i].width = runeLen(cols[i].name)
		for _, r := range rows {
			cell := r[i]
			if j := strings.IndexAny(cell, "\r\n"); j >= 0 {
				cell = cell[:j] + "…"
			}
			cols[i].width = max(cols[i].width, runeLen(cell))
		}
	}
	total := func() int {
		t := len(cols) - 1
		for _, c := range cols {
			t += c.width
		}
		return t
	}
	natural := make([]int, len(cols))
	for i, c := range cols {
		natural[i] = c.width
	}
	// The widest columns give way, first down to their floor (readable at
	// 80 columns), then, when the last ones may not go, down to 4.
	shrink := func(floor func(i int) int) {
		for total() > width-1 {
			widest := -1
			for i, c := range cols {
				if c.width > floor(i) && (widest < 0 || c.width > cols[widest].width) {
					widest = i
				}
			}
			if widest < 0 {
				return
			}
			cols[widest].width--
		}
	}
	shrink(func(i int) int { return columnFloor(cols[i], natural[i]) })
	dropped := 0
	if opts.drop {
		for total() > width-1 && len(cols) > 1 {
			cols = cols[:len(cols)-1]
			dropped++
		}
	}
	shrink(func(i int) int { return min(natural[i], 4) })
	var b strings.Builder
	line := func(cells []string, dashes bool) {
		// With -Wrap a cell goes on over as many lines as it needs; the row
		// is as tall as its tallest cell.
		parts := make([][]string, len(cols))
		height := 1
		for i, c := range cols {
			cell := cells[i]
			switch {
			case dashes:
				parts[i] = []string{strings.Repeat("-", min(runeLen(c.name), c.width))}
			case opts.wrap:
				parts[i] = wrapCell(cell, c.width)
			default:
				parts[i] = []string{truncate(cell, c.width)}
			}
			height = max(height, len(parts[i]))
		}
		for h := 0; h < height; h++ {
			var l strings.Builder
			for i, c := range cols {
				if i > 0 {
					l.WriteByte(' ')
				}
				cell := ""
				if h < len(parts[i]) {
					cell = parts[i][h]
				}
				l.WriteString(pad(cell, c.width, c.right))
			}
			b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
		}
	}
	b.WriteByte('\n')
	if !opts.hideHeaders {
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = c.name
		}
		line(header, false)
		line(header, true)
	}
	for _, r := range rows {
		line(r, false)
	}
	b.WriteByte('\n')
	return b.String(), dropped
}

// wrapCell breaks a cell into lines of at most w characters, at spaces
// where it can and inside a word where one is longer than w; line breaks in
// the value are kept.
func wrapCell(s string, w int) []string {
	w = max(w, 1)
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line := []rune{}
		flush := func() {
			out = append(out, strings.TrimRight(string(line), " "))
			line = line[:0]
		}
		for _, word := range strings.Fields(para) {
			r := []rune(word)
			if len(line) > 0 && len(line)+1+len(r) > w {
				flush()
			}
			for len(r) > w {
				if len(line) > 0 {
					flush()
				}
				out = append(out, string(r[:w]))
				r = r[w:]
			}
			if len(line) > 0 {
				line = append(line, ' ')
			}
			line = append(line, r...)
		}
		flush()
	}
	return out
}

// listEntry is one "Name : Value" line of a list.
type listEntry struct {
	name  string
	value string
}

// renderList lays out objects as PowerShell's Format-List does. props, when
// given, holds each object's entries; otherwise every property is shown.
func renderList(items []any, props [][]listEntry) string {
	var b strings.Builder
	b.WriteByte('\n')
	for i, it := range items {
		var entries []listEntry
		if props != nil {
			entries = props[i]
		} else {
			for _, n := range propertyNames(it) {
				v, _ := property(it, n)
				entries = append(entries, listEntry{n, DisplayValue(v)})
			}
			if _, ok := it.(*Object); !ok {
				if _, ok := it.(*Hashtable); !ok {
					b.WriteString(ToString(it) + "\n\n")
					continue
				}
			}
		}
		w := 0
		for _, e := range entries {
			w = max(w, runeLen(e.name))
		}
		for _, e := range entries {
			val := strings.ReplaceAll(strings.ReplaceAll(e.value, "\r\n", "\n"), "\n", "\n"+strings.Repeat(" ", w+3))
			b.WriteString(strings.TrimRight(pad(e.name, w, false)+" : "+val, " ") + "\n")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// propSpec is one entry of -Property: a name (maybe with wildcards), a
// calculated property @{Name=...; Expression=...}, or a script block.
type propSpec struct {
	name     string
	wildcard bool
	expr     any // *ScriptBlock or string property name, for calculated ones
	calc     bool
}

func parsePropSpecs(specs []any, cmdlet string) ([]propSpec, error) {
	var out []propSpec
	for _, sp := range specs {
		switch x := sp.(type) {
		case string:
			out = append(out, propSpec{name: x, wildcard: strings.ContainsAny(x, "*?[")})
		case *ScriptBlock:
			out = append(out, propSpec{name: strings.TrimSpace(x.Node.Text), expr: x, calc: true})
		case *Hashtable:
			ps := propSpec{calc: true}
			for i, k := range x.keys {
				key := strings.ToLower(ToString(k))
				v := x.values[i]
				switch {
				case key != "" && (strings.HasPrefix("name", key) || strings.HasPrefix("label", key)):
					ps.name = ToString(v)
				case key != "" && strings.HasPrefix("expression", key):
					ps.expr = v
				case strings.HasPrefix("width", key) || strings.HasPrefix("alignment", key) || strings.HasPrefix("formatstring", key) || key == "descending" || key == "ascending":
				default:
					return nil, errorf(cmdlet, "The %s key is not valid.", ToString(k))
				}
			}
			if ps.expr == nil {
				return nil, errorf(cmdlet, "The Expression key is missing from the property hashtable.")
			}
			if ps.name == "" {
				if sb, ok := ps.expr.(*ScriptBlock); ok {
					ps.name = strings.TrimSpace(sb.Node.Text)
				} else {
					ps.name = ToString(ps.expr)
				}
			}
			out = append(out, ps)
		default:
			out = append(out, propSpec{name: ToString(sp)})
		}
	}
	return out, nil
}

// resolveProps evaluates property specs against one object, in order:
// wildcards expand to the object's matching properties.
func (s *Session) resolveProps(ctx context.Context, obj any, specs []propSpec, includeMissing bool) ([]listEntryValue, error) {
	var out []listEntryValue
	seen := map[string]bool{}
	add := func(name string, v any) {
		k := strings.ToLower(name)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, listEntryValue{name, v})
	}
	for _, sp := range specs {
		switch {
		case sp.calc:
			var v any
			switch e := sp.expr.(type) {
			case *ScriptBlock:
				val, err := s.blockValue(ctx, e, obj)
				if err != nil {
					return nil, err
				}
				v = val
			default:
				v, _ = property(obj, ToString(e))
			}
			add(sp.name, v)
		case sp.wildcard:
			for _, n := range propertyNames(obj) {
				if Like(sp.name, n, false) {
					v, _ := property(obj, n)
					add(n, v)
				}
			}
		default:
			name := sp.name
			if o, ok := obj.(*Object); ok {
				if cn, ok := o.CanonicalName(name); ok {
					name = cn
				}
			}
			v, ok := property(obj, name)
			if ok || includeMissing {
				add(name, v)
			}
		}
	}
	return out, nil
}

type listEntryValue struct {
	name  string
	value any
}

// elementText renders one element of a collection in a cell: a parameter
// {Name, Value} as Name=Value and a change {Name, OldValue, NewValue} as
// "Name: Old -> New" (audit records), anything else as text.
func elementText(v any) string {
	o, ok := v.(*Object)
	if !ok {
		return ToString(v)
	}
	name, hasName := o.Get("Name")
	if !hasName {
		return ToString(v)
	}
	if nv, ok := o.Get("NewValue"); ok {
		old, _ := o.Get("OldValue")
		return fmt.Sprintf("%s: %s -> %s", ToString(name), orNone(old), orNone(nv))
	}
	if val, ok := o.Get("Value"); ok && len(o.Names()) == 2 {
		return ToString(name) + "=" + ToString(val)
	}
	return ToString(v)
}

func orNone(v any) string {
	if s := ToString(v); s != "" {
		return s
	}
	return "(none)"
}
