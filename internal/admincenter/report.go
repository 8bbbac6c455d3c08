package admincenter

import (
	"html/template"
	"net/http"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// defaultPeriod is the report's period when none is chosen, in days.
const defaultPeriod = 30

type periodLink struct {
	Days    int
	URL     string
	Current bool
}

type reportData struct {
	Report  service.EmailAppUsageReport
	Periods []periodLink
	Chart   template.HTML
	CSVURL  string
	SVGURL  string
}

// period reads ?period=, which must be one the service offers.
func period(r *http.Request) (int, error) {
	v := r.URL.Query().Get("period")
	if v == "" {
		return defaultPeriod, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &service.ValidationError{Parameter: "Period", Message: "The period must be 7, 30, 90 or 180 days."}
	}
	return n, nil
}

func periodURL(path string, days int) string {
	return path + "?period=" + strconv.Itoa(days)
}

// report is Reports > Email apps usage: who used POP3 and IMAP4 in the last
// 7, 30, 90 or 180 days, as a table, a chart of active users per day, and a
// CSV download; the answer to "who still uses POP3?" before turning it off.
func (c *Center) report(w http.ResponseWriter, r *http.Request, s *session) error {
	days, err := period(r)
	if err != nil {
		return err
	}
	rep, err := c.svc.EmailAppUsage(r.Context(), s.caller, days)
	if err != nil {
		return err
	}
	d := reportData{Report: rep, Chart: usageChart(rep), CSVURL: periodURL(reportCSVPath, days), SVGURL: periodURL(reportChartPath, days)}
	for _, p := range service.UsagePeriods {
		d.Periods = append(d.Periods, periodLink{Days: p, URL: periodURL(reportPath, p), Current: p == days})
	}
	page := c.newPage(w, r, s, "Email apps usage", "reports", "email-apps")
	page.Data = d
	c.render(w, r, http.StatusOK, "report", page)
	return nil
}
