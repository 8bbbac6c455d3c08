package shell

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/exchange"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2ETenThousand is issue 13 §1 on a real server with 10,000
// mailboxes on SQLite and 2,500 on PostgreSQL: every listing and every
// pipeline goes
// through all the pages, wildcards of any breadth work, and where the
// default -ResultSize of 1000 cuts a listing the shell warns as Exchange
// does. The steps run in order on one server; each is one `-c`.
func TestE2ETenThousand(t *testing.T) {
	for _, tc := range []struct {
		engine string
		n      int
	}{
		// Seeding goes through the store, about 20 statements a mailbox:
		// seconds on SQLite, minutes for 10,000 on PostgreSQL under load,
		// so PostgreSQL gets 2,500 (still three pages and a wildcard over
		// more than 1,000) unless GATEHOUSE_PAGING_PG_N says otherwise.
		// Under -race (CI), SQLite gets 2,500 too (GATEHOUSE_PAGING_N);
		// 10,000 runs without it.
		{"sqlite", envInt("GATEHOUSE_PAGING_N", map[bool]int{false: 10000, true: 2500}[raceDetector])},
		{"postgres", envInt("GATEHOUSE_PAGING_PG_N", 2500)},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{Postgres: tc.engine == "postgres"})
			n := tc.n
			t0 := time.Now()
			seedMailboxes(t, env, n)
			t.Logf("seeded %d mailboxes in %v", n, time.Since(t0))
			warn := "WARNING: " + exchange.DefaultCapWarning(1000) + "\n"
			more := "WARNING: There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.\n"
			bulk := `-Filter "Name -like 'Bulk User*'"`
			count := func(k int) string { return fmt.Sprintf("%d\n", k) }
			for _, st := range []struct {
				src, out, err string
			}{
				{src: `(Get-Mailbox -ResultSize Unlimited ` + bulk + ` | Measure-Object).Count`, out: count(n)},
				{src: `(Get-Mailbox ` + bulk + ` | Measure-Object).Count`, out: "1000\n", err: warn},
				{src: `(Get-Mailbox -ResultSize 2000 ` + bulk + ` | Measure-Object).Count`, out: "2000\n", err: more},
				{src: `(Get-CASMailbox * -ResultSize Unlimited | Where-Object Name -like 'Bulk User*' | Measure-Object).Count`, out: count(n)},
				{src: `(Get-CASMailbox bulk01* -ResultSize Unlimited | Measure-Object).Count`, out: "1000\n"},
				{src: `(Get-CASMailbox bulk0* | Measure-Object).Count`, out: "1000\n", err: warn},
				{src: `(Get-Mailbox '*User 0*' -ResultSize Unlimited | Measure-Object).Count`, out: count(n)},
				// every mailbox changed, then those the filter still selects
				// changed back while the listing goes on
				{src: `Get-Mailbox -ResultSize Unlimited ` + bulk + ` | Set-CASMailbox -PopEnabled $false`},
				{src: "Get-CASMailbox -ResultSize Unlimited -Filter \"PopEnabled -eq `$false\" | Set-CASMailbox -PopEnabled $true"},
				{src: "(Get-CASMailbox -ResultSize Unlimited -Filter \"PopEnabled -eq `$false\" | Measure-Object).Count", out: "0\n"},
				{src: `(Search-AdminAuditLog -Cmdlets Set-CASMailbox -ResultSize Unlimited | Measure-Object).Count`, out: count(2 * n)},
				{src: `(Search-AdminAuditLog -Cmdlets Set-CASMailbox -ResultSize 2000 | Measure-Object).Count`, out: "2000\n", err: more},
				{src: `(Search-AdminAuditLog -Cmdlets Set-CASMailbox | Measure-Object).Count`, out: "1000\n", err: warn},
				// the first finding: every mailbox removed, not 1,000
				{src: `Get-Mailbox -ResultSize Unlimited ` + bulk + ` | Remove-Mailbox -Confirm:$false`},
				{src: `(Get-Mailbox -ResultSize Unlimited ` + bulk + ` | Measure-Object).Count`, out: "0\n"},
			} {
				t0 := time.Now()
				code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, st.src)
				t.Logf("%v: %s", time.Since(t0).Round(time.Millisecond), st.src)
				if code != 0 || out != st.out || errOut != st.err {
					t.Fatalf("%s:\ngot exit %d, stdout %q, stderr %q;\nwant exit 0, stdout %q, stderr %q", st.src, code, out, trim(errOut), st.out, st.err)
				}
			}
		})
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func trim(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strings.TrimSpace(s)
}
