// Package admincenter is the admin center: server-rendered pages under
// /admin on the admin listener, modelled on the classic Exchange admin
// center (a feature pane, tabs, a toolbar, a list view and a details pane;
// the "User Mailbox" dialog with its console tree) plus the newer "Manage
// settings for email apps" panel.
//
// Invariants:
//   - Every page and form goes through the service layer (package service),
//     which authorizes, validates, writes and audits; nothing here touches the
//     store. Controls a role may not use are shown disabled with the reason,
//     and the service refuses the change anyway if it is forced.
//   - Every POST carries a CSRF token derived from the session and is
//     answered with a redirect (POST-redirect-GET) or, when the input is
//     refused, with the form again.
//   - No inline script: the Content-Security-Policy allows scripts from
//     /admin/static only, and the pages work without them (the script adds
//     selection, keyboard navigation and pending-state toggles).
//   - Errors become pages in one function (describe).
package admincenter

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// Options configure the admin center.
type Options struct {
	Service *service.Service
	Logger  *slog.Logger
	// SessionTTL is how long the browser keeps the session cookie; the
	// service ends the sign-in itself after its own lifetime (12 h by
	// default), which this should match.
	SessionTTL time.Duration
}

// Center is the admin center.
type Center struct {
	svc   *service.Service
	log   *slog.Logger
	ttl   time.Duration
	pages *pages
	asset *assets
	jobs  *bulkJobs
}

// New returns the admin center. It panics if the embedded templates do not
// parse, which a test catches before any release.
func New(o Options) *Center {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	a := newAssets()
	return &Center{svc: o.Service, log: o.Logger.With("surface", service.SurfaceAdminCenter), ttl: o.SessionTTL,
		pages: mustParsePages(a), asset: a, jobs: &bulkJobs{}}
}

// Base is where the admin center is mounted.
const Base = "/admin"

// Handler serves the admin center; mount it at "/admin/".
func (c *Center) Handler() http.Handler {
	mux := http.NewServeMux()
	redirect := func(to string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusSeeOther) })
	}
	mux.Handle("GET /admin/{$}", redirect(mailboxesPath))
	mux.Handle("GET /admin/recipients/{$}", redirect(mailboxesPath))
	mux.Handle("GET /admin/organization/{$}", redirect(securityDefaultsPath))
	mux.Handle("GET /admin/permissions/{$}", redirect(permissionsPath))
	mux.Handle("GET /admin/auditing/{$}", redirect(auditPath))
	mux.Handle("GET /admin/reports/{$}", redirect(reportPath))
	mux.Handle("GET /admin/help/{$}", redirect(keyboardHelpPath))
	mux.Handle("GET /admin/static/{file}", c.asset)

	mux.HandleFunc("GET "+signInPath, c.public(c.signInPage))
	mux.HandleFunc("POST "+signInPath, c.public(c.signIn))
	mux.HandleFunc("POST "+signOutPath, c.private(c.signOut))

	mux.HandleFunc("GET "+mailboxesPath, c.private(c.mailboxes))
	mux.HandleFunc("GET "+detailsPath, c.private(c.details))
	mux.HandleFunc("GET "+editPath, c.private(c.editPage))
	mux.HandleFunc("POST "+editPath, c.private(c.editSave))
	mux.HandleFunc("GET "+emailAppsPath, c.private(c.emailAppsPage))
	mux.HandleFunc("POST "+emailAppsPath, c.private(c.emailAppsSave))
	mux.HandleFunc("GET "+bulkPath, c.private(c.bulkConfirm))
	mux.HandleFunc("POST "+bulkPath, c.private(c.bulkApply))
	mux.HandleFunc("GET "+bulkPath+"/jobs/{job}", c.private(c.jobPage))
	mux.HandleFunc("GET "+bulkPath+"/jobs/{job}/status", c.private(c.jobStatusJSON))
	mux.HandleFunc("GET "+bulkPath+"/jobs/{job}/results.csv", c.private(c.jobCSV))
	mux.HandleFunc("POST "+bulkPath+"/jobs/{job}/stop", c.private(c.jobStop))
	mux.HandleFunc("GET "+mailboxesCSVPath, c.private(c.mailboxesCSV))
	mux.HandleFunc("GET "+advancedSearchPath, c.private(c.advancedSearchPage))
	mux.HandleFunc("GET "+newMailboxPath, c.private(c.newMailboxPage))
	mux.HandleFunc("POST "+newMailboxPath, c.private(c.newMailbox))
	mux.HandleFunc("GET "+removeMailboxPath, c.private(c.removeMailboxPage))
	mux.HandleFunc("POST "+removeMailboxPath, c.private(c.removeMailbox))
	mux.HandleFunc("GET "+passwordPath, c.private(c.passwordPage))
	mux.HandleFunc("POST "+passwordPath, c.private(c.resetPassword))
	mux.HandleFunc("GET "+appPasswordsPath, c.private(c.appPasswordsPage))
	mux.HandleFunc("POST "+appPasswordsPath, c.private(c.newAppPassword))
	mux.HandleFunc("POST "+appPasswordsPath+"/revoke", c.private(c.revokeAppPassword))
	mux.HandleFunc("GET "+migrationPath, c.private(c.migrationPage))
	mux.HandleFunc("GET "+migrationNewPath, c.private(c.migrationNewPage))
	mux.HandleFunc("POST "+migrationNewPath, c.private(c.migrationNew))
	mux.HandleFunc("POST "+migrationActionPath, c.private(c.migrationAction))
	mux.HandleFunc("GET "+migrationUserPath, c.private(c.migrationUserPage))
	mux.HandleFunc("GET "+quotaPath, c.private(c.quotaPage))
	mux.HandleFunc("POST "+quotaPath, c.private(c.setQuota))

	mux.HandleFunc("GET "+securityDefaultsPath, c.private(c.securityDefaults))
	mux.HandleFunc("GET "+securityDefaultsConfirmPath, c.private(c.securityDefaultsConfirm))
	mux.HandleFunc("POST "+securityDefaultsPath, c.private(c.setSecurityDefaults))
	mux.HandleFunc("GET "+planPath, c.private(c.planPage))
	mux.HandleFunc("POST "+planPath, c.private(c.setPlan))
	mux.HandleFunc("GET "+authPoliciesPath, c.private(c.authPoliciesPage))
	mux.HandleFunc("POST "+authPoliciesPath+"/new", c.private(c.newAuthPolicy))
	mux.HandleFunc("POST "+authPoliciesPath+"/edit", c.private(c.setAuthPolicy))
	mux.HandleFunc("POST "+authPoliciesPath+"/remove", c.private(c.removeAuthPolicy))
	mux.HandleFunc("POST "+authPoliciesPath+"/default", c.private(c.setDefaultAuthPolicy))
	mux.HandleFunc("POST "+authPoliciesPath+"/transport", c.private(c.setTransport))

	mux.HandleFunc("GET "+permissionsPath, c.private(c.permissions))
	mux.HandleFunc("POST "+memberAddPath, c.private(c.addMember))
	mux.HandleFunc("POST "+memberRemovePath, c.private(c.removeMember))

	mux.HandleFunc("GET "+queuePath, c.private(c.queuePage))
	mux.HandleFunc("POST "+queuePath+"/retry", c.private(c.retryQueue))
	mux.HandleFunc("GET "+queueRemovePath, c.private(c.queueRemovePage))
	mux.HandleFunc("POST "+queueRemovePath, c.private(c.queueRemove))

	mux.HandleFunc("GET "+auditPath, c.private(c.auditLog))
	mux.HandleFunc("GET "+reportPath, c.private(c.report))
	mux.HandleFunc("GET "+reportCSVPath, c.private(c.reportCSV))
	mux.HandleFunc("GET "+reportChartPath, c.private(c.reportChart))
	mux.HandleFunc("GET "+keyboardHelpPath, c.private(c.keyboardHelp))

	mux.HandleFunc("/admin/", c.private(c.notFound))
	return c.secure(mux)
}

// The pages.
const (
	signInPath                  = Base + "/signin"
	signOutPath                 = Base + "/signout"
	mailboxesPath               = Base + "/recipients/mailboxes"
	detailsPath                 = mailboxesPath + "/details"
	editPath                    = mailboxesPath + "/edit"
	emailAppsPath               = mailboxesPath + "/email-apps"
	bulkPath                    = mailboxesPath + "/bulk"
	mailboxesCSVPath            = mailboxesPath + ".csv"
	advancedSearchPath          = mailboxesPath + "/advanced-search"
	newMailboxPath              = mailboxesPath + "/new"
	removeMailboxPath           = mailboxesPath + "/remove"
	passwordPath                = mailboxesPath + "/reset-password"
	appPasswordsPath            = mailboxesPath + "/app-passwords"
	quotaPath                   = mailboxesPath + "/quota"
	migrationPath               = Base + "/recipients/migration"
	migrationNewPath            = migrationPath + "/new"
	migrationActionPath         = migrationPath + "/action"
	migrationUserPath           = migrationPath + "/user"
	securityDefaultsPath        = Base + "/organization/security-defaults"
	securityDefaultsConfirmPath = securityDefaultsPath + "/confirm"
	planPath                    = Base + "/organization/mailbox-plan"
	permissionsPath             = Base + "/permissions/admin-roles"
	memberAddPath               = permissionsPath + "/add-member"
	memberRemovePath            = permissionsPath + "/remove-member"
	auditPath                   = Base + "/auditing/admin-audit-log"
	reportPath                  = Base + "/reports/email-apps"
	reportCSVPath               = reportPath + ".csv"
	reportChartPath             = reportPath + ".svg"
	keyboardHelpPath            = Base + "/help/keyboard-shortcuts"
	queuePath                   = Base + "/mail-flow/queue"
	queueRemovePath             = queuePath + "/remove"
)
