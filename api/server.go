// Package api is kamflow's HTTP API: JSON under /api/v1, described by the OpenAPI document at
// /api/openapi.json. Handlers turn requests into domain commands for the deal service and read
// the database projection for lists and reports. Error codes map to HTTP statuses in one place
// (errors.go).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/health"
)

// Config is what the API needs.
type Config struct {
	Accounts      kamflow.AccountStore
	Deals         kamflow.DealStore
	Notifications kamflow.NotificationStore
	Settings      kamflow.SettingsStore
	Idempotency   kamflow.IdempotencyStore
	Users         kamflow.UserStore
	Sessions      kamflow.SessionStore
	Audit         kamflow.AuditStore
	Service       kamflow.DealService
	// Reports computes the director's reports; Escalations keeps the escalation ladder; Emails
	// keeps the users' e-mail addresses.
	Reports     kamflow.ReportStore
	Escalations kamflow.EscalationStore
	Emails      kamflow.UserEmailStore
	// Fanout tells the running deals a change of the settings (a workflow on the worker), and
	// Fanouts keeps its progress; nil Fanouts takes Settings when it is one (the database is).
	// FanoutWait bounds how long a change waits for its fan-out to finish before answering with
	// its progress as it stands (default 2 s: a small installation's answer says every deal was
	// told).
	Fanout     kamflow.SettingsFanout
	Fanouts    kamflow.SettingsFanoutStore
	FanoutWait time.Duration
	// Handover runs the accounts' handovers (a workflow on the worker), and Handovers keeps their
	// records; nil Handovers takes Accounts when it is one (the database is). HandoverWait bounds
	// how long a handover's request waits for the workflow to have recorded it before answering
	// with it pending (default 5 s).
	Handover     kamflow.HandoverService
	Handovers    kamflow.HandoverStore
	HandoverWait time.Duration
	// Certificates numbers the acceptance certificates; nil takes Deals when it is one.
	Certificates kamflow.CertificateStore
	// Deliveries reads the delivery plans and service visits; Delivery changes them.
	Deliveries kamflow.DeliveryStore
	Delivery   kamflow.DeliveryService
	// DeliveryLive, when set, adds the running steps' attempts and heartbeats to the plan read.
	DeliveryLive kamflow.DeliveryLive
	// Imports keeps the imports and reads the exports; nil takes Accounts when it is one (the
	// database is every store). Import runs them (a workflow on the worker); ImportWait bounds
	// how long an upload (or an approval, a cancel) waits for the run to have planned (stopped)
	// before answering with the import as it stands (default 5 s: a small dry run is answered
	// whole).
	Imports    kamflow.ImportStore
	Import     kamflow.ImportService
	ImportWait time.Duration
	// Attention lists the deals needing attention (GET /admin/attention); nil takes Deals when it
	// is one.
	Attention kamflow.AttentionStore
	// Files keeps the files' metadata (nil takes Deals when it is one) and Blobs their bytes (package
	// blobs); without Blobs the files routes answer unavailable. MaxFileBytes is the size limit of
	// one file (default kamflow.DefaultMaxFileBytes, 50 MiB).
	Files        kamflow.FileStore
	Blobs        kamflow.BlobStore
	MaxFileBytes int64
	// Texts keeps the deals' long texts (notes, summaries) out of their workflows' records; nil
	// takes Deals when it is one. Without either, the texts stay in the records.
	Texts kamflow.TextStore
	// Views keeps the users' saved board and list views; nil takes Deals when it is one.
	Views kamflow.SavedViewStore
	// Metrics, when set, is served at GET /metrics in the Prometheus formats, without credentials
	// (as /healthz is): counts only, nothing about any deal or user. Unset, there is no such route.
	Metrics prometheus.Gatherer
	// SessionTTL is how long a sign-in lasts. Default 12 hours: a working day on the road.
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure even when the request did not come over TLS
	// itself (behind a TLS-terminating proxy).
	SecureCookies bool
	// TrustProxy takes the client's address from X-Forwarded-For (only behind a proxy that sets
	// it); otherwise the connection's address is used, which a client cannot forge.
	TrustProxy bool
	// Readiness are the checks of GET /readyz (and of /healthz and /api/v1/healthz, its aliases):
	// 200 when they all pass, 503 naming those failing (package health). Health, when set, is
	// one more check ("dependencies"). Neither set, the API is ready. GET /livez asks nothing.
	Readiness []health.Check
	Health    func(ctx context.Context) error
	// UI, when set, serves everything outside /api and /healthz (the embedded web UI).
	UI http.Handler
	// NoticeText, when set, renders a notification in a language (ui.NoticeText): the inbox
	// answers each notification's text with it, so that the UI shows the one rendering there is.
	NoticeText func(lang string, n kamflow.Notification, nameOf func(username string) string) string
	Logger     *slog.Logger
	// Now and NewID are the clock and the ID source; tests replace them.
	Now   func() time.Time
	NewID func() string
	// CommandTimeout bounds how long a write waits for its deal's workflow. Default 30s.
	CommandTimeout time.Duration
	// BodyLimit caps request bodies. Default 1 MiB.
	BodyLimit string
}

// Server is the HTTP API.
type Server struct {
	cfg  Config
	echo *echo.Echo
}

// New builds the API's routes on cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 30 * time.Second
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1MiB" // binary: "1M" would be 1,000,000 bytes
	}
	if cfg.Imports == nil {
		cfg.Imports, _ = cfg.Accounts.(kamflow.ImportStore)
	}
	if cfg.Attention == nil {
		cfg.Attention, _ = cfg.Deals.(kamflow.AttentionStore)
	}
	if cfg.ImportWait == 0 {
		cfg.ImportWait = 5 * time.Second
	}
	if cfg.Fanouts == nil {
		cfg.Fanouts, _ = cfg.Settings.(kamflow.SettingsFanoutStore)
	}
	if cfg.FanoutWait == 0 {
		cfg.FanoutWait = 2 * time.Second
	}
	if cfg.Handovers == nil {
		cfg.Handovers, _ = cfg.Accounts.(kamflow.HandoverStore)
	}
	if cfg.HandoverWait == 0 {
		cfg.HandoverWait = 5 * time.Second
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{cfg: cfg, echo: e}
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	// First: every request has its ID, and is logged once, as answered (requestlog.go).
	e.Use(s.requestLog)
	e.Use(s.observe) // metrics by route, and the trace span's name (observe.go)
	e.Use(securityHeaders)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log(c).Error("panic in handler", "route", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	// An import's upload has a limit of its own (uploadLimit, imports.go).
	// So has a file's (fileUploadLimit, files.go).
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: cfg.BodyLimit,
		Skipper: func(c echo.Context) bool { return isUpload(c) || isFileUpload(c) }}))
	e.Use(s.uploadLimit, s.fileUploadLimit)
	e.Use(s.checkText)

	e.GET("/livez", echo.WrapHandler(health.Live()))
	e.GET("/readyz", s.health)
	e.GET("/healthz", s.health) // readiness, for older probes
	e.GET("/api/openapi.json", s.openAPI)
	if cfg.Metrics != nil {
		// A metric that cannot be read (the database away) is left out, the others still served.
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	}
	v1 := e.Group("/api/v1")
	v1.Use(s.authenticate, s.idempotency)
	v1.GET("/healthz", s.health)

	v1.POST("/auth/login", s.login)
	v1.POST("/auth/logout", s.logout)
	v1.GET("/auth/me", s.me)
	v1.PATCH("/auth/me", s.patchMe) // any signed-in user: their own language (me.go)
	// The signed-in user's inbox, whatever their role (inbox.go): GET /notifications and these.
	v1.POST("/notifications/read-all", s.readAllNotifications)
	v1.POST("/notifications/:id/read", s.readNotification)

	var (
		sales    = allow(kamflow.UserKAM, kamflow.UserDirector)
		dealWork = allow(kamflow.UserKAM, kamflow.UserDirector, kamflow.UserEngineer)
		director = allow(kamflow.UserDirector)
		admin    = allow(kamflow.UserAdmin)
		oversee  = allow(kamflow.UserDirector, kamflow.UserAdmin)
		// engineering runs delivery tasks and service visits: the deal's engineers and directors.
		engineering = allow(kamflow.UserEngineer, kamflow.UserDirector)
	)
	v1.POST("/accounts", s.createAccount, sales)
	v1.GET("/accounts", s.listAccounts, dealWork)
	v1.GET("/accounts/:id", s.getAccount, dealWork)
	v1.PATCH("/accounts/:id", s.patchAccount, sales)
	// The key-account record (keyaccounts.go).
	v1.GET("/accounts/pareto", s.accountsPareto, sales)
	v1.GET("/accounts/:id/timeline", s.accountTimeline, dealWork)
	v1.GET("/accounts/:id/contacts", s.listContacts, dealWork)
	v1.POST("/accounts/:id/contacts", s.createContact, sales)
	v1.PATCH("/accounts/:id/contacts/:contactId", s.patchContact, sales)
	v1.PUT("/accounts/:id/lifecycle", s.putLifecycle, sales)
	v1.POST("/accounts/:id/handover", s.handOverAccount, director)
	v1.GET("/accounts/:id/handover", s.latestHandover, dealWork)
	v1.POST("/interactions", s.logInteraction, sales)

	v1.POST("/deals", s.createDeal, sales)
	v1.GET("/deals", s.listDeals, dealWork)
	v1.GET("/deals/:id", s.getDeal, dealWork)
	v1.GET("/deals/:id/history", s.dealHistory, dealWork)
	v1.GET("/deals/:id/timeline", s.dealTimeline, dealWork)
	// Who may give which command is the domain's rule (kamflow.Actor.Authorize), enforced by the
	// deal's workflow; these routes only keep out the roles that never work on deals.
	v1.PUT("/deals/:id/assessment", s.command(kamflow.CmdAssessment), dealWork)
	v1.POST("/deals/:id/stakeholders", s.command(kamflow.CmdStakeholder), dealWork)
	v1.PUT("/deals/:id/stakeholders/:contactId", s.editStakeholder, dealWork)
	v1.POST("/deals/:id/stakeholders/:contactId/remove", s.removeStakeholder, dealWork)
	v1.PUT("/deals/:id/criteria", s.command(kamflow.CmdCriteria), dealWork)
	v1.POST("/deals/:id/proposal", s.command(kamflow.CmdProposal), dealWork)
	v1.PUT("/deals/:id/bid", s.command(kamflow.CmdBid), dealWork)
	v1.POST("/deals/:id/bid/approve", s.command(kamflow.CmdApproveMargin), dealWork)
	v1.POST("/deals/:id/contract/approve", s.command(kamflow.CmdApproveContract), dealWork)
	v1.POST("/deals/:id/approvals", s.command(kamflow.CmdRequestApproval), dealWork)
	v1.POST("/deals/:id/approvals/:approval/answer", s.command(kamflow.CmdAnswerApproval), dealWork)
	v1.POST("/deals/:id/contract/sign", s.command(kamflow.CmdSignContract), dealWork)
	v1.POST("/deals/:id/acceptance", s.command(kamflow.CmdAcceptance), dealWork)
	v1.POST("/deals/:id/project/close", s.command(kamflow.CmdCloseProject), dealWork)
	v1.POST("/deals/:id/advance", s.command(kamflow.CmdAdvance), dealWork)
	v1.POST("/deals/:id/close", s.command(kamflow.CmdClose), dealWork)
	v1.POST("/deals/:id/pause", s.command(kamflow.CmdPause), dealWork)
	v1.POST("/deals/:id/resume", s.command(kamflow.CmdResume), dealWork)
	v1.POST("/deals/:id/reassign", s.command(kamflow.CmdReassign), director)
	v1.PUT("/deals/:id/engineers", s.command(kamflow.CmdAssignEngineers), sales)
	v1.PATCH("/deals/:id", s.command(kamflow.CmdEdit), dealWork)
	v1.GET("/deals/:id/people", s.dealPeople, dealWork)
	v1.GET("/people", s.listPeople)

	v1.GET("/deals/:id/delivery", s.getDelivery, dealWork)
	v1.PUT("/deals/:id/delivery", s.putDelivery, sales)
	v1.POST("/deals/:id/delivery/tasks/:key/start", s.taskCommand(kamflow.DelivStart), engineering)
	v1.POST("/deals/:id/delivery/tasks/:key/complete", s.taskCommand(kamflow.DelivComplete), engineering)
	v1.POST("/deals/:id/delivery/tasks/:key/retry", s.taskCommand(kamflow.DelivRetry), engineering)
	v1.POST("/deals/:id/delivery/tasks/:key/cancel", s.taskCommand(kamflow.DelivCancel), engineering)
	v1.POST("/deals/:id/delivery/tasks/:key/resolve-undo", s.resolveUndo, engineering)
	v1.POST("/deals/:id/delivery/punch-list/:item/resolve", s.resolvePunch, engineering)
	v1.GET("/deals/:id/acceptance/certificate.pdf", s.certificate, dealWork)
	v1.GET("/deals/:id/acceptance/certificate", s.certificateInfo, dealWork)
	v1.GET("/service-visits", s.listServiceVisits, dealWork)
	v1.POST("/service-visits/:id/report", s.reportServiceVisit, engineering)
	v1.GET("/accounts/:id/service-report", s.serviceReport, dealWork)

	// Files on a deal, an account, a delivery task and a service visit (files.go).
	v1.GET("/deals/:id/files", s.listFiles(s.dealTarget), dealWork)
	v1.POST("/deals/:id/files", s.uploadFile(s.dealTarget), dealWork)
	v1.GET("/accounts/:id/files", s.listFiles(s.accountTarget), dealWork)
	v1.POST("/accounts/:id/files", s.uploadFile(s.accountTarget), dealWork)
	v1.GET("/deals/:id/delivery/tasks/:key/files", s.listFiles(s.taskTarget), dealWork)
	v1.POST("/deals/:id/delivery/tasks/:key/files", s.uploadFile(s.taskTarget), dealWork)
	v1.GET("/service-visits/:id/files", s.listFiles(s.visitTarget), dealWork)
	v1.POST("/service-visits/:id/files", s.uploadFile(s.visitTarget), dealWork)
	v1.GET("/files/:fileId", s.downloadFile, dealWork)
	v1.DELETE("/files/:fileId", s.deleteFile, dealWork)

	v1.GET("/reports/stalled", s.stalledReport, sales)
	v1.GET("/reports/pipeline", s.pipelineReport, sales)
	// The board's and list view's saved views, each user's own (views.go).
	v1.GET("/saved-views", s.listSavedViews, sales)
	v1.POST("/saved-views", s.saveView, sales)
	v1.DELETE("/saved-views/:id", s.deleteSavedView, sales)
	v1.GET("/reports/approvals", s.approvalsReport, director)
	v1.GET("/reports/approvals/history", s.approvalHistory, director)
	v1.GET("/reports/funnel", s.funnelReport, sales)
	v1.GET("/reports/stage-times", s.stageTimesReport, sales)
	v1.GET("/reports/forecast", s.forecastReport, sales)
	v1.GET("/settings", s.getSettings)
	v1.PUT("/settings/stages/:stage", s.putStageSettings, admin)
	v1.PUT("/settings/service-cadence", s.putServiceCadence, admin)
	v1.PUT("/settings/loss-reasons", s.putLossReasons, admin)
	v1.PUT("/settings/model", s.putModel, admin)
	v1.GET("/amounts/parse", s.parseAmount)
	v1.GET("/settings/segmentation", s.getAccountSettings, allow(kamflow.UserKAM, kamflow.UserDirector, kamflow.UserAdmin))
	v1.PUT("/settings/segmentation", s.putAccountSettings, admin)
	v1.GET("/notifications", s.listNotifications)

	// Imports and exports (imports.go, exports.go): whoever imports reads their own import; the
	// directors of its team and admins read it too.
	importReaders := allow(kamflow.UserKAM, kamflow.UserDirector, kamflow.UserAdmin)
	v1.POST("/imports", s.createImport, sales)
	v1.GET("/imports", s.listImports, importReaders)
	v1.GET("/imports/template", s.importTemplate, sales)
	v1.GET("/imports/:id", s.getImport, importReaders)
	v1.GET("/imports/:id/rejected", s.rejectedRows, importReaders)
	// Its importer (or an admin) cancels a running import.
	v1.POST("/imports/:id/cancel", s.cancelImport, importReaders)
	// A KAM's deals past development wait for a director of the team (import_approval.go).
	v1.POST("/imports/:id/approve", s.approveImport, director)
	v1.POST("/imports/:id/reject", s.rejectImport, director)
	v1.GET("/exports/:kind", s.export, dealWork)

	v1.GET("/users", s.listUsers, admin)
	v1.POST("/users", s.createUser, admin)
	v1.GET("/users/:id", s.getUser, admin)
	v1.PATCH("/users/:id", s.patchUser, admin)
	v1.GET("/teams", s.listTeams, oversee)
	v1.POST("/teams", s.createTeam, admin)
	v1.PATCH("/teams/:id", s.patchTeam, admin)
	v1.GET("/audit", s.listAudit, oversee)
	// The deals whose changes could not be written (attention.go).
	v1.GET("/admin/attention", s.listAttention, admin)
	v1.POST("/deals/:id/retry-projection", s.retryProjection, admin)

	v1.Any("/*", func(c echo.Context) error {
		return kamflow.Errorf(kamflow.ENOTFOUND, "no API route %s %s", c.Request().Method, c.Request().URL.Path)
	})
	if cfg.UI != nil {
		e.GET("/*", echo.WrapHandler(cfg.UI))
	}
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the API's method and path pairs (Echo's ":id" written as OpenAPI's "{id}").
func (s *Server) Routes() [][2]string {
	var out [][2]string
	for _, r := range s.echo.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, [2]string{r.Method, strings.Join(parts, "/")})
	}
	return out
}

// health answers readiness: each check's result, 200 when they all pass, 503 otherwise.
func (s *Server) health(c echo.Context) error {
	checks := s.cfg.Readiness
	if s.cfg.Health != nil {
		checks = append(checks[:len(checks):len(checks)], health.Check{Name: "dependencies", Fn: s.cfg.Health})
	}
	r, ok := health.Run(c.Request().Context(), s.log(c), checks)
	if !ok {
		return c.JSON(http.StatusServiceUnavailable, r)
	}
	return c.JSON(http.StatusOK, r)
}

// checkText refuses, before any handler runs, request text that the database cannot store or
// index: a NUL character or invalid UTF-8 in a path parameter, a query value or the
// Idempotency-Key header. PostgreSQL rejects
// such text, which would otherwise surface as a 500 (or, in a deal's projection, fail for good).
func (s *Server) checkText(next echo.HandlerFunc) echo.HandlerFunc {
	bad := func(v string) bool { return !utf8.ValidString(v) || strings.ContainsRune(v, 0) }
	return func(c echo.Context) error {
		for i, v := range c.ParamValues() {
			if i < len(c.ParamNames()) && bad(v) {
				return kamflow.Errorf(kamflow.EINVALID, "the URL path holds a NUL character or invalid UTF-8")
			}
		}
		for k, vs := range c.QueryParams() {
			for _, v := range vs {
				if bad(k) || bad(v) {
					return kamflow.Errorf(kamflow.EINVALID, "query parameter %q holds a NUL character or invalid UTF-8", strings.ToValidUTF8(k, "?")).WithDetail("field", strings.ToValidUTF8(k, "?"))
				}
			}
		}
		if v := c.Request().Header.Get(idempotencyHeader); bad(v) {
			return kamflow.Errorf(kamflow.EINVALID, "Idempotency-Key holds a NUL character or invalid UTF-8")
		}
		return next(c)
	}
}
