package api_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/metrics"
)

// permissionMatrix is the specification of who may call which route: the exact status every
// principal gets, each cell starting from a fresh account and deal (owned by kam1, of team east,
// engineer e1 assigned) in the stage the route needs, so that the only reason for a refusal is
// the permission. The columns:
//
//	anon   no credentials
//	admin  the admin: manages users and settings, is not a salesperson
//	d1     director of the deal's team (east)
//	d2     director of another team (west)
//	kam1   the KAM who owns the deal and its account
//	kam2   a KAM of the same team: shares the deal through the account team
//	kam3   a KAM of another team
//	e1     the engineer assigned to the deal
//	e2     an engineer of the same team not assigned to it
//
// What a principal may not see is 404, never 403 (existence does not leak); 403 is for a role
// that may not do something it can see, or a route its role never uses. A route with a variant
// after it (advance force) is the same route with another body.
const permissionMatrix = `
route                                          anon admin  d1   d2 kam1 kam2 kam3   e1   e2
GET    /livez                                   200   200  200  200  200  200  200  200  200
GET    /readyz                                  200   200  200  200  200  200  200  200  200
GET    /healthz                                 200   200  200  200  200  200  200  200  200
GET    /api/openapi.json                        200   200  200  200  200  200  200  200  200
GET    /metrics                                 200   200  200  200  200  200  200  200  200
GET    /api/v1/healthz                          200   200  200  200  200  200  200  200  200
POST   /api/v1/auth/login                       200   200  200  200  200  200  200  200  200
POST   /api/v1/auth/logout                      401   204  204  204  204  204  204  204  204
GET    /api/v1/auth/me                          401   200  200  200  200  200  200  200  200

POST   /api/v1/accounts                         401   403  201  201  201  201  201  403  403
GET    /api/v1/accounts                         401   403  200  200  200  200  200  200  200
GET    /api/v1/accounts/{id}                    401   403  200  404  200  200  404  200  404
PATCH  /api/v1/accounts/{id}                    401   403  200  404  200  200  404  403  403
PATCH  /api/v1/accounts/{id} version            401   403  200  404  200  200  404  403  403
GET    /api/v1/accounts/pareto                  401   403  200  200  200  200  200  403  403
GET    /api/v1/accounts/{id}/timeline           401   403  200  404  200  200  404  200  404
GET    /api/v1/accounts/{id}/contacts           401   403  200  404  200  200  404  200  404
POST   /api/v1/accounts/{id}/contacts           401   403  201  404  201  201  404  403  403
PATCH  /api/v1/accounts/{id}/contacts/{contactId}  401  403  200  404  200  200  404  403  403
PUT    /api/v1/accounts/{id}/lifecycle          401   403  200  404  200  200  404  403  403
POST   /api/v1/accounts/{id}/handover           401   403  202  404  403  403  403  403  403
GET    /api/v1/accounts/{id}/handover           401   403  200  404  200  200  404  200  404
POST   /api/v1/interactions                     401   403  201  400  201  201  400  403  403

POST   /api/v1/deals                            401   403  201  400  201  201  400  403  403
GET    /api/v1/deals                            401   403  200  200  200  200  200  200  200
GET    /api/v1/deals/{id}                       401   403  200  404  200  200  404  200  404
GET    /api/v1/deals/{id}/history               401   403  200  404  200  200  404  200  404
GET    /api/v1/deals/{id}/timeline              401   403  200  404  200  200  404  200  404

PUT    /api/v1/deals/{id}/assessment            401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/stakeholders          401   403  200  404  200  200  404  403  404
PUT    /api/v1/deals/{id}/stakeholders/{contactId}         401  403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/stakeholders/{contactId}/remove  401  403  200  404  200  200  404  403  404
PUT    /api/v1/deals/{id}/criteria              401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/proposal              401   403  200  404  200  200  404  403  404
PUT    /api/v1/deals/{id}/bid                   401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/bid/approve           401   403  200  404  403  403  404  403  404
POST   /api/v1/deals/{id}/contract/approve      401   403  200  404  403  403  404  403  404
POST   /api/v1/deals/{id}/approvals             401   403  403  404  200  200  404  403  404
POST   /api/v1/deals/{id}/approvals/{approval}/answer  401  403  200  404  403  403  404  403  404
POST   /api/v1/deals/{id}/contract/sign         401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/acceptance            401   403  422  404  422  422  404  422  404
POST   /api/v1/deals/{id}/project/close         401   403  200  404  200  200  404  200  404
POST   /api/v1/deals/{id}/advance               401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/advance force         401   403  200  404  403  403  404  403  404
POST   /api/v1/deals/{id}/advance from          401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/advance force from    401   403  200  404  403  403  404  403  404
POST   /api/v1/deals/{id}/close                 401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/pause                 401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/resume                401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/reassign              401   403  200  404  403  403  403  403  403
PUT    /api/v1/deals/{id}/engineers             401   403  200  404  200  200  404  403  403
PATCH  /api/v1/deals/{id}                       401   403  200  404  200  200  404  403  404
GET    /api/v1/deals/{id}/people owner          401   403  200  404  403  403  404  403  404
GET    /api/v1/deals/{id}/people engineers      401   403  200  404  200  200  404  403  404
POST   /api/v1/deals/{id}/retry-projection      401   409  403  403  403  403  403  403  403

GET    /api/v1/deals/{id}/delivery              401   403  200  404  200  200  404  200  404
PUT    /api/v1/deals/{id}/delivery              401   403  200  404  200  200  404  403  403
POST   /api/v1/deals/{id}/delivery/tasks/{key}/start     401   403  200  404  403  403  403  200  404
POST   /api/v1/deals/{id}/delivery/tasks/{key}/complete  401   403  200  404  403  403  403  200  404
POST   /api/v1/deals/{id}/delivery/tasks/{key}/retry     401   403  422  404  403  403  403  422  404
POST   /api/v1/deals/{id}/delivery/tasks/{key}/cancel    401   403  200  404  403  403  403  200  404
POST   /api/v1/deals/{id}/delivery/tasks/{key}/resolve-undo  401  403  422  404  403  403  403  422  404
POST   /api/v1/deals/{id}/delivery/punch-list/{item}/resolve  401  403  200  404  403  403  403  200  404
GET    /api/v1/deals/{id}/acceptance/certificate.pdf     401   403  200  404  200  200  404  200  404
GET    /api/v1/deals/{id}/acceptance/certificate         401   403  200  404  200  200  404  200  404
GET    /api/v1/service-visits                   401   403  200  200  200  200  200  200  200
POST   /api/v1/service-visits/{id}/report       401   403  200  404  403  403  403  200  404
GET    /api/v1/accounts/{id}/service-report     401   403  200  404  200  200  404  200  404

GET    /api/v1/deals/{id}/files                 401   403  200  404  200  200  404  200  404
POST   /api/v1/deals/{id}/files                 401   403  201  404  201  201  404  201  404
GET    /api/v1/accounts/{id}/files              401   403  200  404  200  200  404  200  404
POST   /api/v1/accounts/{id}/files              401   403  201  404  201  201  404  201  404
GET    /api/v1/deals/{id}/delivery/tasks/{key}/files   401  403  200  404  200  200  404  200  404
POST   /api/v1/deals/{id}/delivery/tasks/{key}/files   401  403  201  404  201  201  404  201  404
GET    /api/v1/service-visits/{id}/files        401   403  200  404  200  200  404  200  404
POST   /api/v1/service-visits/{id}/files        401   403  201  404  201  201  404  201  404
GET    /api/v1/files/{fileId}                   401   403  200  404  200  200  404  200  404
DELETE /api/v1/files/{fileId}                   401   403  200  404  200  200  404  403  404

GET    /api/v1/reports/stalled                  401   403  200  200  200  200  200  403  403
GET    /api/v1/reports/pipeline                 401   403  200  200  200  200  200  403  403
GET    /api/v1/saved-views                      401   403  200  200  200  200  200  403  403
POST   /api/v1/saved-views                      401   403  200  200  200  200  200  403  403
DELETE /api/v1/saved-views/{id}                 401   403  404  404  204  404  404  403  403
GET    /api/v1/reports/approvals                401   403  200  200  403  403  403  403  403
GET    /api/v1/reports/approvals/history        401   403  200  200  403  403  403  403  403
GET    /api/v1/reports/funnel                   401   403  200  200  200  200  200  403  403
GET    /api/v1/reports/stage-times              401   403  200  200  200  200  200  403  403
GET    /api/v1/reports/forecast                 401   403  200  200  200  200  200  403  403
GET    /api/v1/reports/forecast csv             401   403  200  200  200  200  200  403  403
GET    /api/v1/settings                         401   200  200  200  200  200  200  200  200
PUT    /api/v1/settings/stages/{stage}          401   200  403  403  403  403  403  403  403
PUT    /api/v1/settings/stages/{stage} team     401   200  403  403  403  403  403  403  403
PUT    /api/v1/settings/service-cadence         401   200  403  403  403  403  403  403  403
GET    /api/v1/settings/segmentation            401   200  200  200  200  200  200  403  403
PUT    /api/v1/settings/segmentation            401   200  403  403  403  403  403  403  403
GET    /api/v1/notifications                    401   200  200  200  200  200  200  200  200
POST   /api/v1/notifications/read-all           401   200  200  200  200  200  200  200  200
POST   /api/v1/notifications/{id}/read          401   404  200  404  404  404  404  404  404
PATCH  /api/v1/auth/me                          401   200  200  200  200  200  200  200  200
GET    /api/v1/amounts/parse                    401   200  200  200  200  200  200  200  200
PUT    /api/v1/settings/loss-reasons            401   200  403  403  403  403  403  403  403
PUT    /api/v1/settings/model                   401   200  403  403  403  403  403  403  403
GET    /api/v1/people                           401   200  200  200  200  200  200  200  200

POST   /api/v1/imports                          401   403  201  201  201  201  201  403  403
GET    /api/v1/imports                          401   200  200  200  200  200  200  403  403
GET    /api/v1/imports/template                 401   403  200  200  200  200  200  403  403
GET    /api/v1/imports/{id}                     401   200  200  404  200  404  404  403  403
GET    /api/v1/imports/{id}/rejected            401   200  200  404  200  404  404  403  403
POST   /api/v1/imports/{id}/cancel              401   409  403  404  409  404  404  403  403
POST   /api/v1/imports/{id}/approve             401   403  200  404  403  403  403  403  403
POST   /api/v1/imports/{id}/reject              401   403  200  404  403  403  403  403  403
GET    /api/v1/exports/{kind}                   401   403  200  200  200  200  200  200  200

GET    /api/v1/users                            401   200  403  403  403  403  403  403  403
POST   /api/v1/users                            401   201  403  403  403  403  403  403  403
GET    /api/v1/users/{id}                       401   200  403  403  403  403  403  403  403
PATCH  /api/v1/users/{id}                       401   200  403  403  403  403  403  403  403
GET    /api/v1/teams                            401   200  200  200  403  403  403  403  403
POST   /api/v1/teams                            401   201  403  403  403  403  403  403  403
PATCH  /api/v1/teams/{id}                       401   200  403  403  403  403  403  403  403
GET    /api/v1/audit                            401   200  200  200  403  403  403  403  403
GET    /api/v1/admin/attention                  401   200  403  403  403  403  403  403  403
`

// matrixRow is one parsed line of permissionMatrix.
type matrixRow struct {
	method, path, variant string
	want                  map[string]int // by principal
}

func (r matrixRow) key() string { return strings.TrimSpace(r.method + " " + r.path + " " + r.variant) }

// parseMatrix reads permissionMatrix: the header names the principals, each other line is a
// route (and maybe a variant) and one status per principal.
func parseMatrix(t *testing.T) (principals []string, rows []matrixRow) {
	t.Helper()
	status := regexp.MustCompile(`^[1-5][0-9][0-9]$`)
	for _, line := range strings.Split(permissionMatrix, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "route" {
			principals = f[1:]
			continue
		}
		if len(f) < 2+len(principals) {
			t.Fatalf("matrix line %q: want a route and %d statuses", line, len(principals))
		}
		cells := f[len(f)-len(principals):]
		r := matrixRow{method: f[0], path: f[1], variant: strings.Join(f[2:len(f)-len(principals)], " "), want: map[string]int{}}
		for i, c := range cells {
			if !status.MatchString(c) {
				t.Fatalf("matrix line %q: %q is not a status", line, c)
			}
			r.want[principals[i]], _ = strconv.Atoi(c)
		}
		rows = append(rows, r)
	}
	return principals, rows
}

// stage is a state a cell's fresh deal is driven to before the request.
type stage int

const (
	noDeal           stage = iota // the route is not about a deal or account
	development                   // just opened
	assessed                      // development, assessment passed: the gate is met
	assessedFailed                // development, assessment failed: only a forced advance moves it
	paused                        // development, paused
	entry                         // in entry, nothing recorded
	proposalStage                 // in proposal, nothing recorded
	bidStage                      // in bid, no bid yet
	bidBelowFloor                 // in bid, a bid below the margin floor waits for a director
	bidRequested                  // in bid, below the floor, and kam1 asked a director for its approval (request 1)
	negotiation                   // in negotiation, contract not approved
	contractApproved              // in negotiation, contract approved by d1
	delivery                      // won and in delivery, not accepted
	surveyActive                  // in delivery, the site survey started (its steps done: active)
	punchList                     // in delivery, acceptance passed with a punch list of one item
	accepted                      // in delivery, acceptance passed
	visitDue                      // delivered, its first service visit due
)

// matrixCase says how to drive one route: the state its deal must be in, and the request.
type matrixCase struct {
	stage stage
	// path is the route's path with {id} (the deal, the account or the user) filled in by the
	// test; body may hold {account}.
	body string
	// user makes the route about a fresh user rather than a deal ({id} is the user's id).
	user bool
	// team makes {id} a fresh team's id (the admin's doing).
	team bool
	// notice makes {id} the newest notification of d1's (the deal's stage should notify d1).
	notice bool
	// account makes {id} the fresh account's id rather than the deal's.
	account bool
	// query is added to the path.
	query string
	// visit makes {id} the deal's first service visit's id.
	visit bool
	// contact adds a contact (kam1's) to the fresh account: {contactId} in the path.
	contact bool
	// stakeholder makes that contact a stakeholder of the deal (kam1's doing).
	stakeholder bool
	// handedOver hands the fresh account over (d1, to kam2) first.
	handedOver bool
	// upload sends the body as the file of a multipart/form-data body.
	upload bool
	// imp makes {id} a fresh import of kam1's (a dry run of one account, team east).
	imp bool
	// file makes {fileId} a file kam1 uploaded to the fresh deal.
	file bool
	// held makes {id} a fresh import of kam1's awaiting a director: a deal at bid on the fresh
	// account, held.
	held bool
	// view makes {id} a fresh saved view of kam1's.
	view bool
}

// matrixPlan is the default plan with due dates.
const matrixPlan = `{"tasks":[{"key":"site_survey","due":"2026-03-20","depends_on":[]},{"key":"installation","depends_on":["site_survey"]},` +
	`{"key":"commissioning","depends_on":["installation"]},{"key":"training","depends_on":["commissioning"]},` +
	`{"key":"acceptance_test","assignee":"e1","depends_on":["commissioning","training"]}]}`

const matrixForce = `{"force":true,"reason":"The customer's board asked us to bid anyway"}`

// matrixCases are the requests of the matrix's rows, by row key.
var matrixCases = map[string]matrixCase{
	"GET /livez":                                                 {},
	"GET /readyz":                                                {},
	"GET /healthz":                                               {},
	"GET /api/openapi.json":                                      {},
	"GET /metrics":                                               {},
	"GET /api/v1/healthz":                                        {},
	"POST /api/v1/auth/login":                                    {}, // the body is the principal's own credentials
	"POST /api/v1/auth/logout":                                   {}, // sent with a session of its own
	"GET /api/v1/auth/me":                                        {},
	"POST /api/v1/accounts":                                      {body: `{"name":"Matrix Steel","region":"Jiangsu"}`},
	"GET /api/v1/accounts":                                       {},
	"GET /api/v1/accounts/{id}":                                  {stage: development, account: true},
	"PATCH /api/v1/accounts/{id}":                                {stage: development, account: true, body: `{"region":"Jiangsu, Nanjing"}`},
	"PATCH /api/v1/accounts/{id} version":                        {stage: development, account: true, body: `{"region":"Jiangsu, Suzhou","version":1}`},
	"POST /api/v1/deals":                                         {body: `{"account_id":"{account}","title":"Matrix deal","value":"100000.00","currency":"CNY","owner":"kam1"}`},
	"GET /api/v1/deals":                                          {},
	"GET /api/v1/deals/{id}":                                     {stage: development},
	"GET /api/v1/deals/{id}/history":                             {stage: development},
	"GET /api/v1/deals/{id}/timeline":                            {stage: development},
	"PUT /api/v1/deals/{id}/assessment":                          {stage: development, body: assessPass},
	"POST /api/v1/deals/{id}/stakeholders":                       {stage: development, body: insider},
	"PUT /api/v1/deals/{id}/stakeholders/{contactId}":            {stage: development, contact: true, stakeholder: true, body: `{"role":"decision_maker","stance":"supporter","engaged":true}`},
	"POST /api/v1/deals/{id}/stakeholders/{contactId}/remove":    {stage: development, contact: true, stakeholder: true},
	"PUT /api/v1/deals/{id}/criteria":                            {stage: entry, body: criteria},
	"POST /api/v1/deals/{id}/proposal":                           {stage: proposalStage, body: proposal},
	"PUT /api/v1/deals/{id}/bid":                                 {stage: bidStage, body: goodBid},
	"POST /api/v1/deals/{id}/bid/approve":                        {stage: bidBelowFloor},
	"POST /api/v1/deals/{id}/contract/approve":                   {stage: negotiation},
	"POST /api/v1/deals/{id}/approvals":                          {stage: bidBelowFloor, body: `{"subject":"margin","note":"Reference site"}`},
	"POST /api/v1/deals/{id}/approvals/{approval}/answer":        {stage: bidRequested, body: `{"decision":"approve"}`},
	"POST /api/v1/deals/{id}/contract/sign":                      {stage: contractApproved, body: sign},
	"POST /api/v1/deals/{id}/acceptance":                         {stage: delivery, body: `{"result":"pass","notes":"72h run test passed"}`},
	"POST /api/v1/deals/{id}/project/close":                      {stage: accepted},
	"POST /api/v1/deals/{id}/advance":                            {stage: assessed},
	"POST /api/v1/deals/{id}/advance force":                      {stage: assessedFailed, body: matrixForce},
	"POST /api/v1/deals/{id}/advance from":                       {stage: assessed, body: `{"from":"development"}`},
	"POST /api/v1/deals/{id}/advance force from":                 {stage: assessedFailed, body: `{"force":true,"reason":"The customer's board asked us to bid anyway","from":"development"}`},
	"POST /api/v1/deals/{id}/close":                              {stage: development, body: `{"outcome":"abandoned","reason":"No funding this year"}`},
	"POST /api/v1/deals/{id}/pause":                              {stage: development, body: `{"reason":"Budget approval","resume_on":"2026-04-01"}`},
	"POST /api/v1/deals/{id}/resume":                             {stage: paused},
	"POST /api/v1/deals/{id}/reassign":                           {stage: development, body: `{"owner":"kam2","reason":"kam1 moves to the steel accounts"}`},
	"PUT /api/v1/deals/{id}/engineers":                           {stage: development, body: `{"engineers":["e1","e2"]}`},
	"PATCH /api/v1/deals/{id}":                                   {stage: development, body: `{"title":"Matrix deal, phase 2","value":"150000.00"}`},
	"GET /api/v1/deals/{id}/people owner":                        {stage: development, query: "?purpose=owner"},
	"GET /api/v1/deals/{id}/people engineers":                    {stage: development, query: "?purpose=engineers"},
	"GET /api/v1/people":                                         {},
	"POST /api/v1/deals/{id}/retry-projection":                   {stage: development}, // needs no attention: the admin's retry is a conflict
	"GET /api/v1/deals/{id}/delivery":                            {stage: delivery},
	"PUT /api/v1/deals/{id}/delivery":                            {stage: delivery, body: matrixPlan},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/start":         {stage: delivery},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/complete":      {stage: surveyActive, body: `{"notes":"Foundations ready"}`},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/retry":         {stage: surveyActive},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/cancel":        {stage: surveyActive},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/resolve-undo":  {stage: surveyActive, body: `{"note":"Work order closed by hand"}`},
	"POST /api/v1/deals/{id}/delivery/punch-list/{item}/resolve": {stage: punchList},
	"GET /api/v1/deals/{id}/acceptance/certificate.pdf":          {stage: accepted},
	"GET /api/v1/deals/{id}/acceptance/certificate":              {stage: accepted},
	"GET /api/v1/service-visits":                                 {query: "?assignee=me"},
	"POST /api/v1/service-visits/{id}/report":                    {stage: visitDue, visit: true, body: `{"visited_on":"2026-04-01","faults_found":1,"faults_unresolved":0,"satisfaction":"satisfied"}`},
	"GET /api/v1/accounts/{id}/service-report":                   {stage: development, account: true},
	"GET /api/v1/accounts/pareto":                                {},
	"GET /api/v1/accounts/{id}/timeline":                         {stage: development, account: true},
	"GET /api/v1/accounts/{id}/contacts":                         {stage: development, account: true},
	"POST /api/v1/accounts/{id}/contacts":                        {stage: development, account: true, body: `{"name":"Chen Gong","role":"insider","stance":"supporter"}`},
	"PATCH /api/v1/accounts/{id}/contacts/{contactId}":           {stage: development, account: true, contact: true, body: `{"title":"Chief engineer","influence":4}`},
	"PUT /api/v1/accounts/{id}/lifecycle":                        {stage: development, account: true, body: `{"rung":"supporter","reason":"Buys its analysers from us only"}`},
	"POST /api/v1/accounts/{id}/handover":                        {stage: development, account: true, body: `{"owner":"kam2","reason":"kam1 moves to the steel accounts"}`},
	"GET /api/v1/accounts/{id}/handover":                         {stage: development, account: true, handedOver: true},
	"POST /api/v1/interactions":                                  {body: `{"account_id":"{account}","kind":"visit","summary":"Site walk of line 3","reaction":"positive"}`},
	"GET /api/v1/settings/segmentation":                          {},
	"PUT /api/v1/settings/segmentation":                          {body: `{"strategic_threshold":55,"weights":{"satisfaction":20}}`},
	"PUT /api/v1/settings/service-cadence":                       {body: `{"service_cadence":["30d","90d","180d","365d"]}`},
	"GET /api/v1/deals/{id}/files":                               {stage: development},
	"POST /api/v1/deals/{id}/files":                              {stage: development, upload: true, query: "?kind=tender", body: "Tender of line 3\n"},
	"GET /api/v1/accounts/{id}/files":                            {stage: development, account: true},
	"POST /api/v1/accounts/{id}/files":                           {stage: development, account: true, upload: true, query: "?kind=other", body: "Org chart notes\n"},
	"GET /api/v1/deals/{id}/delivery/tasks/{key}/files":          {stage: delivery},
	"POST /api/v1/deals/{id}/delivery/tasks/{key}/files":         {stage: delivery, upload: true, query: "?kind=other", body: "Survey notes\n"},
	"GET /api/v1/service-visits/{id}/files":                      {stage: visitDue, visit: true},
	"POST /api/v1/service-visits/{id}/files":                     {stage: visitDue, visit: true, upload: true, query: "?kind=other", body: "Visit report\n"},
	"GET /api/v1/files/{fileId}":                                 {stage: development, file: true},
	"DELETE /api/v1/files/{fileId}":                              {stage: development, file: true},
	"GET /api/v1/reports/stalled":                                {},
	"GET /api/v1/reports/pipeline":                               {},
	"GET /api/v1/saved-views":                                    {stage: noDeal},
	"POST /api/v1/saved-views":                                   {stage: noDeal, body: `{"name":"Matrix view {team}","page":"board","query":"stalled=true"}`},
	"DELETE /api/v1/saved-views/{id}":                            {stage: noDeal, view: true},
	"GET /api/v1/reports/approvals":                              {},
	"GET /api/v1/reports/approvals/history":                      {},
	"GET /api/v1/reports/funnel":                                 {},
	"GET /api/v1/reports/stage-times":                            {},
	"GET /api/v1/reports/forecast":                               {},
	"GET /api/v1/reports/forecast csv":                           {query: "?format=csv"},
	"GET /api/v1/settings":                                       {},
	"PUT /api/v1/settings/stages/{stage}":                        {body: `{"sla":"30d","director_after":3}`},
	"PUT /api/v1/settings/stages/{stage} team":                   {body: `{"team":"east","sla":"20d"}`},
	"GET /api/v1/notifications":                                  {},
	"POST /api/v1/notifications/read-all":                        {},
	"POST /api/v1/notifications/{id}/read":                       {stage: bidRequested, notice: true}, // d1's notice of the request
	"PATCH /api/v1/auth/me":                                      {body: `{"language":"en"}`},
	"GET /api/v1/amounts/parse":                                  {query: "?text=1200%E4%B8%87"},
	"PUT /api/v1/settings/loss-reasons":                          {body: `{"loss_reasons":[{"code":"price","labels":{"en":"Price","zh-CN":"价格"}},{"code":"timing","labels":{"en":"Timing","zh-CN":"时机"}}]}`},
	"PUT /api/v1/settings/model":                                 {body: `{"margin_floor":15}`},
	"POST /api/v1/imports":                                       {upload: true, query: "?kind=accounts&dry_run=true", body: "name,industry\nMatrix import {team},steel\n"},
	"GET /api/v1/imports":                                        {},
	"GET /api/v1/imports/template":                               {query: "?kind=deals&format=xlsx"},
	"GET /api/v1/imports/{id}":                                   {imp: true},
	"GET /api/v1/imports/{id}/rejected":                          {imp: true, query: "?format=csv"},
	"POST /api/v1/imports/{id}/cancel":                           {imp: true}, // done: a conflict for whoever may cancel it
	"POST /api/v1/imports/{id}/approve":                          {held: true},
	"POST /api/v1/imports/{id}/reject":                           {held: true, body: `{"reason":"No bid on file"}`},
	"GET /api/v1/exports/{kind}":                                 {query: "?format=xlsx"},
	"GET /api/v1/users":                                          {},
	"POST /api/v1/users":                                         {body: `{"username":"{username}","name":"New KAM","role":"kam","teams":["east"],"password":"` + testPassword + `"}`},
	"GET /api/v1/users/{id}":                                     {user: true},
	"PATCH /api/v1/users/{id}":                                   {user: true, body: `{"name":"Renamed"}`},
	"GET /api/v1/teams":                                          {},
	"POST /api/v1/teams":                                         {body: `{"name":"{team}"}`},
	"PATCH /api/v1/teams/{id}":                                   {team: true, body: `{"name":"{team}"}`},
	"GET /api/v1/audit":                                          {},
	"GET /api/v1/admin/attention":                                {},
}

// TestPermissionMatrix drives every route of the router as every principal and checks the exact
// status of each cell against permissionMatrix; a route the matrix does not cover fails it.
func TestPermissionMatrix(t *testing.T) {
	principals, rows := parseMatrix(t)
	if want := []string{"anon", "admin", "d1", "d2", "kam1", "kam2", "kam3", "e1", "e2"}; !slices.Equal(principals, want) {
		t.Fatalf("matrix columns %v, want %v", principals, want)
	}

	// Every route of the router has a row, and every row is a route.
	routes := map[string]bool{}
	for _, r := range api.New(api.Config{Metrics: metrics.New(nil)}).Routes() {
		if r[0] == "echo_route_not_found" || r[1] == "/*" || r[1] == "/api/v1/*" {
			continue // Echo's internal not-found routes and the API's catch-all
		}
		routes[r[0]+" "+r[1]] = true
	}
	covered := map[string]bool{}
	for _, r := range rows {
		route := r.method + " " + r.path
		if !routes[route] {
			t.Errorf("the matrix has %s, which the router does not", route)
		}
		if _, ok := matrixCases[r.key()]; !ok {
			t.Errorf("matrix row %s has no case saying how to drive it", r.key())
		}
		covered[route] = true
	}
	for route := range routes {
		if !covered[route] {
			t.Errorf("route %s is not in the permission matrix", route)
		}
	}
	for key := range matrixCases {
		if !slices.ContainsFunc(rows, func(r matrixRow) bool { return r.key() == key }) {
			t.Errorf("case %s is not a row of the matrix", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		m := &matrixRun{env: newEnv(t, d, func(c *api.Config) { c.Metrics = metrics.New(d) })}
		for _, u := range principals {
			if u != "anon" {
				m.env.session(u)
			}
		}
		for _, r := range rows {
			t.Run(r.key(), func(t *testing.T) {
				for _, p := range principals {
					m.cell(t, r, p)
				}
			})
		}
	})
}

// matrixRun is the matrix on one database.
type matrixRun struct {
	env *testEnv
	n   int // numbers what each cell creates
}

// fresh makes a new account of kam1's (team east) and, unless st is noDeal, a deal on it owned by
// kam1 with e1 assigned, driven to st by the people who may.
func (m *matrixRun) fresh(st stage) (account, deal string) {
	e := m.env
	m.n++
	account = e.must(201, "POST", "/api/v1/accounts", "kam1", fmt.Sprintf(`{"name":"Matrix account %d"}`, m.n))["id"].(string)
	if st == noDeal {
		return account, ""
	}
	deal = e.must(201, "POST", "/api/v1/deals", "kam1",
		fmt.Sprintf(`{"account_id":%q,"title":"Matrix deal %d","value":"2500000.00","currency":"CNY"}`, account, m.n))["id"].(string)
	p := "/api/v1/deals/" + deal
	do := func(as, method, path, body string) { e.must(200, method, p+path, as, body) }
	do("kam1", "PUT", "/engineers", `{"engineers":["e1"]}`)
	if st == development {
		return account, deal
	}
	switch st {
	case assessedFailed:
		do("kam1", "PUT", "/assessment", assessFail)
		return account, deal
	case paused:
		do("kam1", "POST", "/pause", `{"reason":"Budget approval","resume_on":"2026-04-01"}`)
		return account, deal
	}
	do("kam1", "PUT", "/assessment", assessPass)
	if st == assessed {
		return account, deal
	}
	do("kam1", "POST", "/advance", "")
	if st == entry {
		return account, deal
	}
	do("kam1", "POST", "/stakeholders", insider)
	do("kam1", "POST", "/stakeholders", decider)
	do("kam1", "POST", "/advance", "")
	if st == proposalStage {
		return account, deal
	}
	do("kam1", "PUT", "/criteria", criteria)
	do("kam1", "POST", "/proposal", proposal)
	do("kam1", "POST", "/advance", "")
	if st == bidStage {
		return account, deal
	}
	if st == bidBelowFloor || st == bidRequested {
		do("kam1", "PUT", "/bid", lowBid)
		if st == bidRequested {
			do("kam1", "POST", "/approvals", `{"subject":"margin"}`)
		}
		return account, deal
	}
	do("kam1", "PUT", "/bid", goodBid)
	do("kam1", "POST", "/advance", "")
	if st == negotiation {
		return account, deal
	}
	do("d1", "POST", "/contract/approve", "")
	if st == contractApproved {
		return account, deal
	}
	do("kam1", "POST", "/contract/sign", sign)
	do("kam1", "POST", "/advance", "")
	if st == delivery {
		return account, deal
	}
	task := func(key, body string) {
		do("e1", "POST", "/delivery/tasks/"+key+"/start", "")
		if body != "" {
			do("e1", "POST", "/delivery/tasks/"+key+"/complete", body)
		}
	}
	task(kamflow.TaskSiteSurvey, "")
	if st == surveyActive {
		return account, deal
	}
	do("e1", "POST", "/delivery/tasks/site_survey/complete", "{}")
	for _, k := range []string{kamflow.TaskInstallation, kamflow.TaskCommissioning, kamflow.TaskTraining} {
		task(k, "{}")
	}
	if st == punchList {
		task(kamflow.TaskAcceptanceTest, `{"result":"pass_with_punch_list","punch_list":["Label the cabinets"]}`)
		return account, deal
	}
	task(kamflow.TaskAcceptanceTest, `{"result":"pass","notes":"72h run test passed"}`)
	if st == accepted {
		return account, deal
	}
	do("e1", "POST", "/project/close", "")
	// A month on, the first service visit is due.
	now := e.clock.Now()
	e.clock.Set(now.Add(31 * kamflow.Day))
	if err := e.svc.runVisits(context.Background(), deal); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(now)
	return account, deal
}

// cell sends the row's request as the principal from a fresh start and checks the status, that
// the answer is documented, that a refused command changed nothing, and that an accepted one is
// on the deal's timeline under the principal's name.
func (m *matrixRun) cell(t *testing.T, r matrixRow, principal string) {
	t.Helper()
	e := m.env
	ctx := context.Background()
	c := matrixCases[r.key()]
	as := principal
	if as == "anon" {
		as = ""
	}
	account, deal := "", ""
	if c.stage != noDeal || strings.Contains(c.body, "{account}") {
		account, deal = m.fresh(c.stage)
	}
	path := r.path
	switch {
	case c.user:
		m.n++
		u := &kamflow.User{ID: fmt.Sprintf("user-matrix-%d", m.n), Username: fmt.Sprintf("matrix%d", m.n), Role: kamflow.UserKAM,
			Teams: []string{"east"}, PasswordHash: passwordHash(), CreatedAt: T0, UpdatedAt: T0}
		if err := e.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{id}", u.ID)
	case c.account:
		path = strings.ReplaceAll(path, "{id}", account)
	case c.team:
		m.n++
		team := e.must(201, "POST", "/api/v1/teams", "admin", fmt.Sprintf(`{"name":"Matrix team %d"}`, m.n))
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(team["id"]))
	case c.notice:
		inbox := e.must(200, "GET", "/api/v1/notifications?limit=1", "d1", "")
		id, ok := lookup(inbox, "items.0.id")
		if !ok {
			t.Fatalf("d1 has no notice: %v", inbox)
		}
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(id))
	case c.visit:
		path = strings.ReplaceAll(path, "{id}", deal+"-v1")
	case c.imp:
		body, ct := multipartFile("matrix.csv", []byte("name,owner\nMatrix import,kam3\n"))
		res := e.serve(request{method: "POST", path: "/api/v1/imports?kind=accounts", as: "kam1", body: body,
			headers: map[string]string{"Content-Type": ct}})
		id, _ := lookup(res.json, "id")
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(id))
	case c.held:
		account, _ = m.fresh(noDeal)
		body, ct := multipartFile("matrix.csv", []byte("account_id,title,value,stage\n"+account+",Matrix held deal,100000,bid\n"))
		res := e.serve(request{method: "POST", path: "/api/v1/imports?kind=deals&dry_run=false", as: "kam1", body: body,
			headers: map[string]string{"Content-Type": ct}})
		if st, _ := lookup(res.json, "status"); st != "awaiting_approval" {
			t.Fatalf("a held import: %d %s", res.status, res.body)
		}
		id, _ := lookup(res.json, "id")
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(id))
		defer e.waitImports() // an approval runs in the background
	case c.view:
		m.n++
		v := e.must(200, "POST", "/api/v1/saved-views", "kam1", fmt.Sprintf(`{"name":"Matrix view %d","page":"list"}`, m.n))
		path = strings.ReplaceAll(path, "{id}", v["id"].(string))
	default:
		path = strings.ReplaceAll(path, "{id}", deal)
	}
	if c.file {
		body, ct := multipartFile("tender.txt", []byte("Tender of line 3\n"))
		res := e.serve(request{method: "POST", path: "/api/v1/deals/" + deal + "/files?kind=tender", as: "kam1", body: body,
			headers: map[string]string{"Content-Type": ct}})
		id, _ := lookup(res.json, "id")
		if res.status != 201 {
			t.Fatalf("a file on the deal: %d %s", res.status, res.body)
		}
		path = strings.ReplaceAll(path, "{fileId}", fmt.Sprint(id))
	}
	if c.handedOver {
		e.must(202, "POST", "/api/v1/accounts/"+account+"/handover", "d1", `{"owner":"kam2","reason":"kam1 moves north"}`)
	}
	if c.contact {
		ct := e.must(201, "POST", "/api/v1/accounts/"+account+"/contacts", "kam1", `{"name":"Liu Zong","role":"decision_maker"}`)
		path = strings.ReplaceAll(path, "{contactId}", ct["id"].(string))
		if c.stakeholder {
			e.must(200, "POST", "/api/v1/deals/"+deal+"/stakeholders", "kam1", fmt.Sprintf(`{"contact_id":%q,"name":"","role":"influencer","stance":"neutral"}`, ct["id"]))
		}
	}
	path = strings.NewReplacer("{stage}", "development", "{key}", kamflow.TaskSiteSurvey, "{item}", "p1", "{kind}", "deals", "{approval}", "1").Replace(path) + c.query
	m.n++
	body := strings.NewReplacer("{account}", account, "{username}", fmt.Sprintf("newkam%d", m.n),
		"{team}", fmt.Sprintf("Matrix team %d", m.n)).Replace(c.body)
	req := request{method: r.method, path: path, body: body, as: as}
	if c.upload {
		var ct string
		req.body, ct = multipartFile("matrix.csv", []byte(body))
		req.headers = map[string]string{"Content-Type": ct}
	}
	switch r.key() {
	case "POST /api/v1/auth/login":
		who := as
		if who == "" {
			who = "kam1" // anyone may sign in
		}
		req.body = fmt.Sprintf(`{"username":%q,"password":%q}`, who, testPassword)
	case "POST /api/v1/auth/logout":
		if as != "" {
			// A session of its own, so that the principal's stays signed in for the other cells.
			req.as = ""
			req.headers = map[string]string{"Authorization": "Bearer " + e.login(as).token}
		}
	}

	var seq int64
	if deal != "" {
		seq = m.seq(t, deal)
	}
	res := e.serve(req)
	want := r.want[principal]
	if res.status != want {
		t.Errorf("%s as %s: status %d, want %d: %.300s", r.key(), principal, res.status, want, res.body)
	}
	if err := api.CheckOpenAPI(req.method, req.path, nil, res.status, res.body); err != nil {
		t.Errorf("as %s: %v", principal, err)
	}
	for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if res.header.Get(h) != v {
			t.Errorf("%s as %s: %s = %q, want %q", r.key(), principal, h, res.header.Get(h), v)
		}
	}
	if res.status >= 400 {
		if code, _ := lookup(res.json, "error.code"); code == nil {
			t.Errorf("%s as %s: %d without the error envelope: %s", r.key(), principal, res.status, res.body)
		}
	}
	// A deal command: refused, it left no trace; accepted, it is on the timeline as the
	// principal's.
	if deal == "" || r.method == "GET" || r.path == "/api/v1/deals" || c.account || c.notice {
		return
	}
	after := m.seq(t, deal)
	if res.status >= 400 && after != seq {
		t.Errorf("%s as %s: refused (%d) but the deal moved from seq %d to %d", r.key(), principal, res.status, seq, after)
	}
	if res.status < 300 {
		entries, _, err := e.db.Audit(ctx, kamflow.AuditFilter{DealID: deal, Page: kamflow.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Actor != as ||
			!(strings.HasPrefix(entries[0].Action, "deal.") || strings.HasPrefix(entries[0].Action, "delivery.") || strings.HasPrefix(entries[0].Action, "file.")) {
			t.Errorf("%s as %s: the newest timeline entry is %+v, want the principal's change", r.key(), principal, entries)
		}
	}
}

func (m *matrixRun) seq(t *testing.T, deal string) int64 {
	t.Helper()
	d, err := m.env.db.Deal(context.Background(), deal)
	if err != nil {
		t.Fatal(err)
	}
	return d.Seq
}
