package cmdlet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DecodeJSON parses JSON into shell values: objects become *Object with
// their keys in document order (so that tables show the server's property
// order), numbers int64 or float64, RFC 3339 timestamps time.Time. It is a
// small recursive-descent parser because encoding/json's token API, the
// only order-preserving one, is several times slower on large pages.
func DecodeJSON(data []byte) (any, error) {
	p := &jsonParser{data: data}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, p.errorf("trailing data")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

const maxJSONDepth = 512

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested too deeply")
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		o := NewObject("")
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return o, nil
		}
		for {
			p.space()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.errorf("expected a property name")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.errorf("expected ':'")
			}
			p.pos++
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o.Set(k, v)
			p.space()
			if p.pos >= len(p.data) {
				return nil, p.errorf("unexpected end in object")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == '}' {
				p.pos++
				return o, nil
			}
			return nil, p.errorf("expected ',' or '}'")
		}
	case c == '[':
		p.pos++
		arr := []any{}
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return arr, nil
		}
		for {
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.space()
			if p.pos >= len(p.data) {
				return nil, p.errorf("unexpected end in array")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == ']' {
				p.pos++
				return arr, nil
			}
			return nil, p.errorf("expected ',' or ']'")
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		if len(s) >= 20 && s[4] == '-' && s[10] == 'T' && timestampRE.MatchString(s) {
			if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return tm, nil
			}
		}
		return s, nil
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.errorf("unexpected character %q", p.data[p.pos])
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return nil, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	isFloat := false
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c >= '0' && c <= '9' || c == '-' || c == '+' {
			p.pos++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			p.pos++
			continue
		}
		break
	}
	text := string(p.data[start:p.pos])
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if errors.Is(err, strconv.ErrRange) {
		// beyond float64: keep the digits rather than refuse the answer
		return text, nil
	}
	if err != nil {
		return nil, p.errorf("invalid number %q", text)
	}
	return f, nil
}

// str reads a string at p.pos (which is '"').
func (p *jsonParser) str() (string, error) {
	start := p.pos
	p.pos++
	escaped := false
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !escaped {
				raw := p.data[start+1 : p.pos-1]
				if !utf8.Valid(raw) {
					// as encoding/json does
					return strings.ToValidUTF8(string(raw), "\uFFFD"), nil
				}
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
				return "", p.errorf("invalid string: %v", err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.pos += 2
		case c < 0x20:
			return "", p.errorf("control character in string")
		default:
			p.pos++
		}
	}
	return "", errors.New("JSON: unterminated string")
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// jsonBuf is a bytes.Buffer for writeJSON.
type jsonBuf struct{ bytes.Buffer }

// EncodeJSON writes shell values as JSON, keeping object key order.
func EncodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, v, 0, -1, 64); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeJSON writes v; indent < 0 writes compactly. depth bounds nesting
// (ConvertTo-Json -Depth): deeper values are written as strings.
func writeJSON(b *bytes.Buffer, v any, level, indent, depth int) error {
	nl := func(l int) {
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", l*indent))
		}
	}
	colon := ":"
	if indent >= 0 {
		colon = ": "
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		data, _ := json.Marshal(x)
		b.Write(data)
	case time.Time:
		b.WriteString(`"` + x.Format(time.RFC3339Nano) + `"`)
	case *SecureString:
		data, _ := json.Marshal(x.plain)
		b.Write(data)
	case []string:
		arr := make([]any, len(x))
		for i, s := range x {
			arr[i] = s
		}
		return writeJSON(b, arr, level, indent, depth)
	case []any:
		if level > depth {
			data, _ := json.Marshal(ToString(x))
			b.Write(data)
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(level + 1)
			if err := writeJSON(b, e, level+1, indent, depth); err != nil {
				return err
			}
		}
		if len(x) > 0 {
			nl(level)
		}
		b.WriteByte(']')
	case *Object, *Hashtable:
		if level > depth {
			data, _ := json.Marshal(ToString(x))
			b.Write(data)
			return nil
		}
		var keys []string
		var vals []any
		if o, ok := x.(*Object); ok {
			keys = o.Names()
			vals = o.values
		} else {
			h := x.(*Hashtable)
			for _, k := range h.keys {
				keys = append(keys, ToString(k))
			}
			vals = h.values
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(level + 1)
			kd, _ := json.Marshal(k)
			b.Write(kd)
			b.WriteString(colon)
			if err := writeJSON(b, vals[i], level+1, indent, depth); err != nil {
				return err
			}
		}
		if len(keys) > 0 {
			nl(level)
		}
		b.WriteByte('}')
	case *ScriptBlock:
		data, _ := json.Marshal(x.Node.Text)
		b.Write(data)
	default:
		data, _ := json.Marshal(ToString(x))
		b.Write(data)
	}
	return nil
}
