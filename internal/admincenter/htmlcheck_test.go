package admincenter_test

import (
	"regexp"
	"strings"
	"testing"
)

// A small scanner of the tags of a page, enough to check what the
// templates emit: html/template quotes every attribute value and escapes
// "<" and ">" in text, so a tag is "<name attributes>" and a value never
// holds a raw quote.

type tag struct {
	name  string
	attrs map[string]string
	raw   string
}

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
)

func scanTags(body string) []tag {
	var out []tag
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		t := tag{name: strings.ToLower(m[1]), attrs: map[string]string{}, raw: m[0]}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			v := a[2]
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
				v = v[1 : len(v)-1]
			}
			t.attrs[strings.ToLower(a[1])] = v
		}
		out = append(out, t)
	}
	return out
}

// markupProblems lists markup that could run code or that the
// Content-Security-Policy would refuse: inline scripts, event handler and
// style attributes, javascript: URLs, images, frames and objects from
// anywhere but the admin center's static files.
func markupProblems(body string) []string {
	var out []string
	for _, tg := range scanTags(body) {
		switch tg.name {
		case "script":
			if !strings.HasPrefix(tg.attrs["src"], "/admin/static/") {
				out = append(out, "a script that isn't a static file: "+tg.raw)
			}
		case "img":
			if !strings.HasPrefix(tg.attrs["src"], "/admin/static/") {
				out = append(out, "an image from elsewhere: "+tg.raw)
			}
		case "iframe", "frame", "object", "embed", "base":
			out = append(out, "unexpected "+tg.name+": "+tg.raw)
		case "meta":
			if tg.attrs["http-equiv"] != "" {
				out = append(out, "meta http-equiv: "+tg.raw)
			}
		}
		for name, v := range tg.attrs {
			if strings.HasPrefix(name, "on") || name == "style" || name == "srcdoc" {
				out = append(out, "attribute "+name+" in "+tg.raw)
			}
			if (name == "href" || name == "src" || name == "action" || name == "formaction") &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:") {
				out = append(out, "a javascript: URL in "+tg.raw)
			}
		}
	}
	return out
}

func checkMarkup(t *testing.T, where, body string) {
	t.Helper()
	for _, p := range markupProblems(body) {
		t.Errorf("%s: %s", where, p)
	}
}

// TestMarkupProblems checks the checker: it finds what it must, and leaves
// escaped text alone.
func TestMarkupProblems(t *testing.T) {
	for _, tc := range []struct {
		body string
		bad  bool
	}{
		{`<script>alert(1)</script>`, true},
		{`<script src="https://evil.example/x.js"></script>`, true},
		{`<img src=x onerror=alert(1)>`, true},
		{`<a href="javascript:alert(1)">x</a>`, true},
		{`<p style="color:red">x</p>`, true},
		{`<div onclick="x()">`, true},
		{`<iframe src="/admin/"></iframe>`, true},
		{`<script src="/admin/static/admin.js?v=1" defer></script>`, false},
		{`<td aria-label="Select &#34;&gt;&lt;img src=x onerror=alert(2)&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</td>`, false},
		{`<input value="&#39; onfocus=&#39;alert(1)">`, false},
	} {
		if got := len(markupProblems(tc.body)) > 0; got != tc.bad {
			t.Errorf("%s: got problems=%v; want %v", tc.body, got, tc.bad)
		}
	}
}
