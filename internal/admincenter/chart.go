package admincenter

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The chart's geometry, in SVG user units.
const (
	chartW, chartH                  = 720, 260
	chartLeft, chartRight           = 48, 16
	chartTop, chartBottom           = 36, 36
	popColor, imapColor, gridColour = "#0f62fe", "#b3135c", "#d0d4d9"
)

// niceStep picks the step of the y axis: 1, 2 or 5 times a power of ten,
// so that the axis has at most five steps up to max.
func niceStep(max int) int {
	if max <= 5 {
		return 1
	}
	raw := float64(max) / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return int(m * pow)
		}
	}
	return int(10 * pow)
}

// usageChart draws the active POP3 and IMAP4 users per day as an SVG line
// chart, on the server: no script, no inline style (presentation
// attributes only, which the Content-Security-Policy allows). The two
// series differ in dash as well as colour. Every text in it is a number or
// a date; it is escaped all the same.
func usageChart(rep service.EmailAppUsageReport) template.HTML {
	days := rep.Daily
	n := len(days)
	peak, peakPop, peakImap := 1, 0, 0
	for _, d := range days {
		peakPop, peakImap = max(peakPop, d.PopUsers), max(peakImap, d.ImapUsers)
	}
	peak = max(peak, peakPop, peakImap)
	step := niceStep(peak)
	top := ((peak + step - 1) / step) * step
	pw, ph := float64(chartW-chartLeft-chartRight), float64(chartH-chartTop-chartBottom)
	x := func(i int) float64 {
		if n <= 1 {
			return chartLeft + pw/2
		}
		return chartLeft + float64(i)*pw/float64(n-1)
	}
	y := func(v int) float64 { return chartTop + ph - float64(v)*ph/float64(top) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="chart-title chart-desc" font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<title id="chart-title">Active POP3 and IMAP4 users per day, last %d days</title>`, rep.Period)
	fmt.Fprintf(&b, `<desc id="chart-desc">%s</desc>`, html.EscapeString(fmt.Sprintf(
		"At most %d mailboxes used POP3 and at most %d used IMAP4 on one day; %d used POP3 and %d used IMAP4 in the whole period.",
		peakPop, peakImap, rep.ActivePopUsers, rep.ActiveImapUsers)))
	// Grid and y axis.
	for v := 0; v <= top; v += step {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1"/>`, chartLeft, y(v), chartW-chartRight, y(v), gridColour)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#333">%d</text>`, chartLeft-6, y(v)+4, v)
	}
	// X axis labels: at most seven dates, evenly spread.
	labels := min(n, 7)
	for k := 0; k < labels; k++ {
		i := 0
		if labels > 1 {
			i = k * (n - 1) / (labels - 1)
		}
		anchor := "middle"
		switch {
		case labels > 1 && k == 0:
			anchor = "start"
		case labels > 1 && k == labels-1:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" fill="#333">%s</text>`, x(i), chartH-chartBottom+18, anchor,
			html.EscapeString(days[i].Date.UTC().Format("Jan 2")))
	}
	series := func(name, colour, dash string, val func(service.DailyActiveUsers) int) {
		if n == 0 {
			return
		}
		var pts []string
		for i, d := range days {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(val(d))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"><title>%s</title></polyline>`,
			colour, dash, strings.Join(pts, " "), name)
		if n <= 31 {
			for i, d := range days {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %d</title></circle>`, x(i), y(val(d)), colour,
					name, html.EscapeString(d.Date.UTC().Format("2006-01-02")), val(d))
			}
		}
	}
	series("POP3", popColor, "none", func(d service.DailyActiveUsers) int { return d.PopUsers })
	series("IMAP4", imapColor, "6 4", func(d service.DailyActiveUsers) int { return d.ImapUsers })
	// Legend.
	fmt.Fprintf(&b, `<line x1="%d" y1="14" x2="%d" y2="14" stroke="%s" stroke-width="2"/><text x="%d" y="18" fill="#333">POP3 users</text>`,
		chartLeft, chartLeft+24, popColor, chartLeft+30)
	fmt.Fprintf(&b, `<line x1="%d" y1="14" x2="%d" y2="14" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="18" fill="#333">IMAP4 users</text>`,
		chartLeft+120, chartLeft+144, imapColor, chartLeft+150)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// reportChart serves the chart alone, as an SVG image.
func (c *Center) reportChart(w http.ResponseWriter, r *http.Request, s *session) error {
	days, err := period(r)
	if err != nil {
		return err
	}
	rep, err := c.svc.EmailAppUsage(r.Context(), s.caller, days)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/svg+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n%s\n", usageChart(rep))
	return nil
}
