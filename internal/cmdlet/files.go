package cmdlet

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// path resolves a file name against the session's directory.
func (s *Session) path(name string) string {
	if filepath.IsAbs(name) || s.dir == "" {
		if abs, err := filepath.Abs(name); err == nil {
			return abs
		}
		return name
	}
	return filepath.Join(s.dir, name)
}

func fileError(err error, path string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("Could not find file '%s'.", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("Access to the path '%s' is denied.", path)
	}
	return fmt.Sprintf("Cannot use the file '%s': %v", path, err)
}

// csvQuote quotes a CSV field as Export-Csv does: always, doubling quotes.
func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func exportCsv() *Cmdlet {
	return &Cmdlet{
		Name: "Export-Csv", Aliases: []string{"epcsv"}, Source: srcUtility,
		Synopsis:    "Saves objects to a CSV file.",
		Description: "Writes one line per pipeline object, under a header of the first object's property names, every field in double quotes (PowerShell 7 format: no #TYPE line unless -IncludeTypeInformation).",
		Params: []*Param{
			{Name: "Path", Aliases: []string{"LiteralPath", "FilePath"}, Type: TString, Position: 1, Mandatory: true, Help: "The file to write."},
			{Name: "NoTypeInformation", Aliases: []string{"NTI"}, Type: TSwitch, Help: "Leaves out the #TYPE line (the default)."},
			{Name: "IncludeTypeInformation", Aliases: []string{"ITI"}, Type: TSwitch, Help: "Writes a #TYPE line first."},
			{Name: "Delimiter", Type: TString, Help: "The field separator; a comma by default."},
			{Name: "Append", Type: TSwitch, Help: "Adds to the end of an existing file."},
			{Name: "NoClobber", Type: TSwitch, Help: "Refuses to overwrite an existing file."},
			{Name: "Force", Type: TSwitch},
			{Name: "Encoding", Type: TString, Help: "Accepted for compatibility; files are written in UTF-8."},
			inputObject(),
		},
		Examples: []Example{{Code: "Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation", Remarks: "Saves who may use POP3."}},
		New: func() Impl {
			var f *os.File
			var w *bufio.Writer
			var header []string
			sep := ","
			return Impl{
				Begin: func(ctx context.Context, c *Call) error {
					if d := c.String("Delimiter"); d != "" {
						sep = d
					}
					return nil
				},
				Process: func(ctx context.Context, c *Call) error {
					for _, in := range c.inputs() {
						if f == nil {
							p := c.s.path(c.String("Path"))
							flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
							appendHeader := true
							if c.Switch("Append") {
								flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
								if st, err := os.Stat(p); err == nil && st.Size() > 0 {
									appendHeader = false
									header = readCsvHeader(p, sep)
								}
							} else if c.Switch("NoClobber") {
								flags |= os.O_EXCL
							}
							file, err := os.OpenFile(p, flags, 0o644)
							if err != nil {
								if errors.Is(err, fs.ErrExist) {
									return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("The file '%s' already exists.", p)}
								}
								return &Error{Source: c.Cmdlet.Name, Msg: fileError(err, p)}
							}
							f, w = file, bufio.NewWriter(file)
							if appendHeader || header == nil {
								header = csvNames(in)
								if c.Switch("IncludeTypeInformation") {
									fmt.Fprintf(w, "#TYPE %s\n", typeName(in))
								}
								fields := make([]string, len(header))
								for i, h := range header {
									fields[i] = csvQuote(h)
								}
								fmt.Fprintln(w, strings.Join(fields, sep))
							}
						}
						fields := make([]string, len(header))
						for i, h := range header {
							v, _ := csvValue(in, h)
							fields[i] = csvQuote(v)
						}
						if _, err := fmt.Fprintln(w, strings.Join(fields, sep)); err != nil {
							return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
						}
					}
					return nil
				},
				End: func(ctx context.Context, c *Call) error {
					if f == nil {
						return nil
					}
					err := w.Flush()
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
					}
					return nil
				},
			}
		},
	}
}

// csvNames are the columns an object exports: its properties; a string
// exports its Length, as in PowerShell.
func csvNames(v any) []string {
	switch v.(type) {
	case *Object, *Hashtable:
		return propertyNames(v)
	case string:
		return []string{"Length"}
	}
	return []string{"Value"}
}

func csvValue(v any, name string) (string, bool) {
	switch v.(type) {
	case *Object, *Hashtable, string:
		p, ok := property(v, name)
		return ToString(p), ok
	}
	return ToString(v), true
}

func readCsvHeader(path, sep string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = []rune(sep)[0]
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err != nil {
			return nil
		}
		if len(rec) > 0 && strings.HasPrefix(rec[0], "#TYPE") {
			continue
		}
		return rec
	}
}

func importCsv() *Cmdlet {
	return &Cmdlet{
		Name: "Import-Csv", Aliases: []string{"ipcsv"}, Source: srcUtility,
		Synopsis:    "Reads objects from a CSV file.",
		Description: "Writes one object per line of the file, with the header's column names as properties (text values).",
		Params: []*Param{
			{Name: "Path", Aliases: []string{"LiteralPath"}, Type: TStrings, Position: 1, Mandatory: true, FromPipeline: true, Help: "The file to read."},
			{Name: "Delimiter", Type: TString, Help: "The field separator; a comma by default."},
			{Name: "Header", Type: TStrings, Help: "Column names for a file without a header line."},
			{Name: "Encoding", Type: TString, Help: "Accepted for compatibility; files are read as UTF-8."},
		},
		Examples: []Example{{Code: "Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }", Remarks: "Disables IMAP4 for the mailboxes listed in users.csv."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				for _, name := range c.Strings("Path") {
					p := c.s.path(name)
					if err := importCsvFile(ctx, c, p); err != nil {
						return err
					}
				}
				return nil
			}}
		},
	}
}

func importCsvFile(ctx context.Context, c *Call, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return c.WriteError(fileError(err, p))
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	r := csv.NewReader(br)
	if d := c.String("Delimiter"); d != "" {
		r.Comma = []rune(d)[0]
	}
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	header := c.Strings("Header")
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot read '%s': %v", p, err)}
		}
		if header == nil {
			if len(rec) > 0 && strings.HasPrefix(rec[0], "#TYPE") {
				continue
			}
			header = make([]string, len(rec))
			seen := map[string]bool{}
			for i, h := range rec {
				h = strings.TrimSpace(h)
				if h == "" {
					h = fmt.Sprintf("H%d", i+1)
				}
				if seen[strings.ToLower(h)] {
					return &Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("The member %q is already present.", h)}
				}
				seen[strings.ToLower(h)] = true
				header[i] = h
			}
			continue
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		o := NewObject("CsvRow")
		for i, h := range header {
			if i < len(rec) {
				o.Set(h, rec[i])
			} else {
				o.Set(h, nil)
			}
		}
		if err := c.Emit(o); err != nil {
			return err
		}
	}
}

func outFile() *Cmdlet {
	return &Cmdlet{
		Name: "Out-File", Source: srcUtility, Synopsis: "Writes output to a file, as it would be displayed.",
		Params: []*Param{
			{Name: "FilePath", Aliases: []string{"Path", "LiteralPath"}, Type: TString, Position: 1, Mandatory: true},
			{Name: "Append", Type: TSwitch},
			{Name: "NoClobber", Type: TSwitch},
			{Name: "Encoding", Type: TString},
			{Name: "Width", Type: TInt, Help: "The width of the lines, as if the terminal were that wide (default: the terminal's, else 120)."},
			inputObject(),
		},
		New: collectThen(func(ctx context.Context, c *Call, items []any) error {
			text, err := c.renderWidth(items)
			if err != nil {
				return err
			}
			p := c.s.path(c.String("FilePath"))
			flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
			if c.Switch("Append") {
				flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
			} else if c.Switch("NoClobber") {
				flags |= os.O_EXCL
			}
			f, err := os.OpenFile(p, flags, 0o644)
			if err != nil {
				return &Error{Source: c.Cmdlet.Name, Msg: fileError(err, p)}
			}
			_, err = io.WriteString(f, text)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return &Error{Source: c.Cmdlet.Name, Msg: err.Error()}
			}
			return nil
		}),
	}
}

func convertToJSON() *Cmdlet {
	return &Cmdlet{
		Name: "ConvertTo-Json", Source: srcUtility,
		Synopsis:    "Converts objects to JSON.",
		Description: "Writes the pipeline objects as one JSON text: an array for several objects, indented by two spaces unless -Compress. Objects nested deeper than -Depth (2) are written as strings.",
		Params: []*Param{
			{Name: "InputObject", Type: TAny, Position: 1, FromPipeline: true},
			{Name: "Depth", Type: TInt, Help: "How deep to convert nested objects; 2 by default."},
			{Name: "Compress", Type: TSwitch, Help: "Leaves out whitespace."},
			{Name: "AsArray", Type: TSwitch, Help: "Writes an array even for one object."},
		},
		Examples: []Example{{Code: "Get-CASMailbox 'Christa Knapp' | ConvertTo-Json", Remarks: "Christa Knapp's CAS mailbox as JSON."}},
		New: func() Impl {
			var items []any
			return Impl{
				Process: func(ctx context.Context, c *Call) error {
					if c.HasInput {
						items = append(items, c.Input)
					} else if v, ok := c.Get("InputObject"); ok {
						items = append(items, v)
					}
					return nil
				},
				End: func(ctx context.Context, c *Call) error {
					if len(items) == 0 {
						return nil
					}
					v := collect(items)
					if c.Switch("AsArray") {
						if _, ok := v.([]any); !ok {
							v = []any{v}
						}
					}
					depth := int64(2)
					if d, ok := c.Int("Depth"); ok {
						depth = d
					}
					indent := 2
					if c.Switch("Compress") {
						indent = -1
					}
					var b strings.Builder
					buf := &jsonBuf{}
					_ = writeJSON(&buf.Buffer, v, 0, indent, int(depth))
					b.Write(buf.Bytes())
					return c.Emit(b.String())
				},
			}
		},
	}
}

func convertFromJSON() *Cmdlet {
	return &Cmdlet{
		Name: "ConvertFrom-Json", Source: srcUtility,
		Synopsis: "Converts JSON text to objects.",
		Params:   []*Param{{Name: "InputObject", Type: TString, Position: 1, Mandatory: true, FromPipeline: true}},
		New: func() Impl {
			var parts []string
			return Impl{
				Process: func(ctx context.Context, c *Call) error { parts = append(parts, c.String("InputObject")); return nil },
				End: func(ctx context.Context, c *Call) error {
					v, err := DecodeJSON([]byte(strings.Join(parts, "\n")))
					if err != nil {
						return &Error{Source: c.Cmdlet.Name, Msg: "Conversion from JSON failed with error: " + err.Error()}
					}
					markCustom(v)
					return emitEnumerated(v, c.Emit)
				},
			}
		},
	}
}

func markCustom(v any) {
	switch x := v.(type) {
	case *Object:
		x.TypeName = "System.Management.Automation.PSCustomObject"
		for _, e := range x.values {
			markCustom(e)
		}
	case []any:
		for _, e := range x {
			markCustom(e)
		}
	}
}

func getContent() *Cmdlet {
	return &Cmdlet{
		Name: "Get-Content", Aliases: []string{"gc", "cat", "type"}, Source: "Microsoft.PowerShell.Management",
		Synopsis: "Writes the lines of a text file.",
		Params: []*Param{
			{Name: "Path", Aliases: []string{"LiteralPath"}, Type: TStrings, Position: 1, Mandatory: true, FromPipelineByName: true},
			{Name: "Raw", Type: TSwitch, Help: "Writes the whole file as one string."},
		},
		Examples: []Example{{Code: "Get-Content pop.csv", Remarks: "Shows a file Export-Csv wrote."}},
		New: func() Impl {
			return Impl{Process: func(ctx context.Context, c *Call) error {
				for _, name := range c.Strings("Path") {
					p := c.s.path(name)
					data, err := os.ReadFile(p)
					if err != nil {
						if werr := c.WriteError(fileError(err, p)); werr != nil {
							return werr
						}
						continue
					}
					text := strings.TrimPrefix(string(data), "\xef\xbb\xbf")
					if c.Switch("Raw") {
						if err := c.Emit(text); err != nil {
							return err
						}
						continue
					}
					text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
					for _, l := range strings.Split(text, "\n") {
						if err := c.Emit(l); err != nil {
							return err
						}
					}
				}
				return nil
			}}
		},
	}
}
