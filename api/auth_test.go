package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// The sign-in, session, throttling, CSRF, hardening and audit tests. The permission matrix
// (permissions_test.go) covers who may call what; these cover how.

// bearer is the Authorization header of a token.
func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// wantStatus fails the test unless the response has the status (and, for an error, the code).
func wantStatus(t *testing.T, what string, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if code != "" {
		if got, _ := lookup(r.json, "error.code"); got != code {
			t.Fatalf("%s: error code %v, want %s: %s", what, got, code, r.body)
		}
	}
}

// loginAs sends POST /api/v1/auth/login with the credentials from the address.
func (e *testEnv) loginAs(username, password, remote string) *response {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return e.serve(request{method: "POST", path: "/api/v1/auth/login", body: string(body), remote: remote})
}

// timeline is the deal's audit trail as its reader gets it, newest first.
func (e *testEnv) timeline(t *testing.T, deal, as string) []map[string]any {
	t.Helper()
	m := e.must(200, "GET", "/api/v1/deals/"+deal+"/timeline?limit=200", as, "")
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	if int(m["total"].(float64)) != len(out) {
		t.Fatalf("timeline total %v, %d items", m["total"], len(out))
	}
	return out
}

func actions(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s by %s", e["action"], e["actor"]))
	}
	return out
}

// TestForcedAdvanceByKAMIsRefused: a KAM may not force a deal past an unmet key node. The
// refusal (403) leaves no trace: the deal, its stage history and its timeline are as they were,
// whether the command came through the API or was sent to the deal service directly. The
// director's forced advance is recorded with who, when and why.
func TestForcedAdvanceByKAMIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		_, deal := (&matrixRun{env: e}).fresh(assessedFailed)
		p := "/api/v1/deals/" + deal
		before := e.must(200, "GET", p, "kam1", "")
		history := e.must(200, "GET", p+"/history", "kam1", "")["items"].([]any)
		timeline := e.timeline(t, deal, "kam1")
		applied := e.svc.Applied(deal)

		for _, kam := range []string{"kam1", "kam2"} {
			r := e.serve(request{method: "POST", path: p + "/advance", as: kam, body: matrixForce})
			wantStatus(t, "forced advance by "+kam, r, 403, kamflow.EFORBIDDEN)
			if msg, _ := lookup(r.json, "error.message"); !strings.Contains(fmt.Sprint(msg), "director") {
				t.Errorf("the refusal does not say who may: %s", r.body)
			}
		}
		// Past the API, the deal's validator refuses it alike.
		kam1 := e.users["kam1"].Actor()
		_, err := e.svc.Execute(context.Background(), deal, kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam1,
			Advance: &kamflow.AdvanceInput{Force: true, Reason: "sent past the API"}}, "")
		if kamflow.ErrorCode(err) != kamflow.EFORBIDDEN {
			t.Errorf("the deal service took a KAM's forced advance: %v", err)
		}

		after := e.must(200, "GET", p, "kam1", "")
		if after["seq"] != before["seq"] || after["stage"] != "development" || after["forced"] != false || after["forces"] != nil {
			t.Errorf("after the refused force: seq %v (was %v), stage %v, forced %v, forces %v",
				after["seq"], before["seq"], after["stage"], after["forced"], after["forces"])
		}
		if h := e.must(200, "GET", p+"/history", "kam1", "")["items"].([]any); len(h) != len(history) {
			t.Errorf("the refused force is in the stage history: %v", h)
		}
		if tl := e.timeline(t, deal, "d1"); len(tl) != len(timeline) {
			t.Errorf("the refused force is on the timeline: %v", actions(tl))
		}
		if n := e.svc.Applied(deal); n != applied {
			t.Errorf("the deal service applied %d commands, want %d", n, applied)
		}

		// The director may.
		e.clock.Set(T0.Add(2 * time.Hour))
		forced := e.must(200, "POST", p+"/advance", "d1", matrixForce)
		if forced["stage"] != "entry" || forced["forced"] != true {
			t.Fatalf("the director's force: stage %v forced %v", forced["stage"], forced["forced"])
		}
		tl := e.timeline(t, deal, "kam1")
		if len(tl) != len(timeline)+1 {
			t.Fatalf("timeline %v, want one entry more", actions(tl))
		}
		top := tl[0]
		if top["action"] != "deal.advance" || top["actor"] != "d1" || top["at"] != "2026-03-02T11:00:00Z" ||
			!strings.Contains(fmt.Sprint(top["summary"]), "forced from development to entry past assessment_passed") ||
			jsonText(top["after"]) != `{"forced":true,"stage":"entry"}` || jsonText(top["before"]) != `{"forced":false,"stage":"development"}` {
			t.Errorf("the forced advance on the timeline: %s", jsonText(top))
		}
		h := e.must(200, "GET", p+"/history", "kam1", "")["items"].([]any)
		if last := h[len(h)-1].(map[string]any); last["kind"] != "forced" || last["actor"] != "d1" {
			t.Errorf("the forced advance in the history: %v", last)
		}
	})
}

// TestOtherTeamsDealsAreNotFound: a KAM or director of another team, and an engineer not
// assigned, are told a deal does not exist, exactly as for a deal that does not: the same status,
// code and message. Lists leave it out.
func TestOtherTeamsDealsAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		account, deal := (&matrixRun{env: e}).fresh(development)
		for _, who := range []string{"kam3", "d2", "e2"} {
			for _, path := range []string{"", "/history", "/timeline"} {
				got := e.serve(request{method: "GET", path: "/api/v1/deals/" + deal + path, as: who})
				none := e.serve(request{method: "GET", path: "/api/v1/deals/no-such-deal" + path, as: who})
				wantStatus(t, who+" reading another team's deal"+path, got, 404, kamflow.ENOTFOUND)
				wantStatus(t, who+" reading no deal"+path, none, 404, kamflow.ENOTFOUND)
				if strings.ReplaceAll(string(got.body), deal, "no-such-deal") != string(none.body) {
					t.Errorf("%s: another team's deal answers %s, a missing one %s", who, got.body, none.body)
				}
			}
			for _, cmd := range []struct{ method, path, body string }{
				{"PUT", "/assessment", assessPass}, {"POST", "/stakeholders", insider}, {"POST", "/advance", matrixForce},
				{"POST", "/close", `{"outcome":"abandoned","reason":"x"}`}, {"PUT", "/engineers", `{"engineers":["e2"]}`},
			} {
				r := e.serve(request{method: cmd.method, path: "/api/v1/deals/" + deal + cmd.path, as: who, body: cmd.body})
				if r.status != 404 && !(r.status == 403 && who == "e2" && cmd.path == "/engineers") {
					t.Errorf("%s %s %s: %d, want 404: %s", who, cmd.method, cmd.path, r.status, r.body)
				}
			}
			if l := e.must(200, "GET", "/api/v1/deals", who, ""); l["total"] != float64(0) {
				t.Errorf("%s lists %v deals, want none of team east's", who, l["total"])
			}
			if l := e.must(200, "GET", "/api/v1/accounts", who, ""); l["total"] != float64(0) {
				t.Errorf("%s lists %v accounts, want none of team east's", who, l["total"])
			}
			r := e.serve(request{method: "GET", path: "/api/v1/accounts/" + account, as: who})
			none := e.serve(request{method: "GET", path: "/api/v1/accounts/no-such-account", as: who})
			wantStatus(t, who+" reading another team's account", r, 404, kamflow.ENOTFOUND)
			if strings.ReplaceAll(string(r.body), account, "no-such-account") != string(none.body) {
				t.Errorf("%s: another team's account answers %s, a missing one %s", who, r.body, none.body)
			}
		}
		// Opening a deal on another team's account is refused as for an unknown account.
		for _, acct := range []string{account, "no-such-account"} {
			r := e.serve(request{method: "POST", path: "/api/v1/deals", as: "kam3",
				body: fmt.Sprintf(`{"account_id":%q,"title":"Poached","currency":"CNY"}`, acct)})
			wantStatus(t, "kam3 opening a deal on "+acct, r, 400, kamflow.EINVALID)
			if msg, _ := lookup(r.json, "error.message"); msg != fmt.Sprintf("account %q does not exist", acct) {
				t.Errorf("kam3 opening a deal on %s: %v", acct, msg)
			}
		}
		if got := e.must(200, "GET", "/api/v1/deals/"+deal, "kam1", ""); got["seq"] != float64(2) {
			t.Errorf("the other team's attempts changed the deal: seq %v", got["seq"])
		}
		// The engineer assigned sees it, and the deal's account.
		e.must(200, "GET", "/api/v1/deals/"+deal, "e1", "")
		e.must(200, "GET", "/api/v1/accounts/"+account, "e1", "")
	})
}

// TestLoginThrottle: five failed sign-ins for a username from one address within 15 minutes, or
// twenty from an address, refuse every further sign-in for that username from that address (or
// from that address) with 429 and Retry-After, even with the right password, until the window has
// passed. The username still signs in from elsewhere.
func TestLoginThrottle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		const home, away, botnet = "198.51.100.7:5000", "198.51.100.8:5000", "203.0.113.9:6000"
		unknown := e.loginAs("nobody", "wrong password", away)
		for i := range 5 {
			r := e.loginAs("kam1", fmt.Sprintf("guess %d", i), home)
			wantStatus(t, fmt.Sprintf("wrong password %d", i+1), r, 401, kamflow.EUNAUTHORIZED)
			if !bytes.Equal(r.body, unknown.body) {
				t.Errorf("a wrong password (%s) and an unknown user (%s) are told apart", r.body, unknown.body)
			}
		}
		r := e.loginAs("kam1", testPassword, home)
		wantStatus(t, "the right password after five failures from "+home, r, 429, kamflow.ERATELIMITED)
		if ra := r.header.Get("Retry-After"); ra != "900" {
			t.Errorf("Retry-After %q, want 900 (15 minutes)", ra)
		}
		if r.header.Get("Set-Cookie") != "" {
			t.Errorf("a throttled sign-in set a cookie: %s", r.header.Get("Set-Cookie"))
		}
		if err := api.CheckOpenAPI("POST", "/api/v1/auth/login", nil, r.status, r.body); err != nil {
			t.Error(err)
		}
		// The lock is the pair's: kam1 signs in from elsewhere, and other users from home.
		wantStatus(t, "kam1 from another address", e.loginAs("kam1", testPassword, away), 200, "")
		wantStatus(t, "kam2 from the same address", e.loginAs("kam2", testPassword, home), 200, "")
		// Ten minutes later, five more minutes to wait.
		e.clock.Set(T0.Add(10 * time.Minute))
		if r := e.loginAs("kam1", testPassword, home); r.status != 429 || r.header.Get("Retry-After") != "300" {
			t.Errorf("ten minutes on: %d, Retry-After %q; want 429 and 300", r.status, r.header.Get("Retry-After"))
		}
		// The window passes.
		e.clock.Set(T0.Add(15*time.Minute + time.Second))
		wantStatus(t, "kam1 after 15 minutes", e.loginAs("kam1", testPassword, home), 200, "")

		// Twenty failures from one address, over many usernames (no more than four each).
		for i := range 20 {
			r := e.loginAs(fmt.Sprintf("user%d", i%5), "password1", botnet)
			wantStatus(t, fmt.Sprintf("failure %d from one address", i+1), r, 401, kamflow.EUNAUTHORIZED)
		}
		r = e.loginAs("kam3", testPassword, botnet)
		wantStatus(t, "the right password from an address after twenty failures", r, 429, kamflow.ERATELIMITED)
		if r.header.Get("Retry-After") != "900" {
			t.Errorf("Retry-After %q, want 900", r.header.Get("Retry-After"))
		}
		wantStatus(t, "kam3 from elsewhere", e.loginAs("kam3", testPassword, away), 200, "")
	})
}

// TestLogout: logging out ends the session: its bearer token (and cookie) answer 401 from then on,
// while the user's other sessions go on.
func TestLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		s1, s2 := e.login("kam1"), e.login("kam1")
		wantStatus(t, "me", e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: bearer(s1.token)}), 200, "")
		out := e.serve(request{method: "POST", path: "/api/v1/auth/logout", headers: bearer(s1.token)})
		wantStatus(t, "logout", out, 204, "")
		if len(out.body) != 0 {
			t.Errorf("logout answered a body: %q", out.body)
		}
		if c := cookieNamed(out.header, "kamflow_session"); c == nil || c.Value != "" || c.MaxAge >= 0 {
			t.Errorf("logout did not clear the session cookie: %v", out.header["Set-Cookie"])
		}
		for _, path := range []string{"/api/v1/auth/me", "/api/v1/deals", "/api/v1/notifications"} {
			r := e.serve(request{method: "GET", path: path, headers: bearer(s1.token)})
			wantStatus(t, "the logged-out token on "+path, r, 401, kamflow.EUNAUTHORIZED)
		}
		r := e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: map[string]string{"Cookie": "kamflow_session=" + s1.token}})
		wantStatus(t, "the logged-out session's cookie", r, 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "logging out twice", e.serve(request{method: "POST", path: "/api/v1/auth/logout", headers: bearer(s1.token)}), 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "the other session", e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: bearer(s2.token)}), 200, "")
	})
}

// TestUserChangesEndSessions: disabling a user, changing their password or their role ends
// their sessions at once; a disabled user cannot sign in, and is refused even with a session the
// change did not end.
func TestUserChangesEndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		me := func(token string) *response {
			return e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: bearer(token)})
		}

		// Disabled by an admin.
		s := e.login("e2")
		e.must(200, "PATCH", "/api/v1/users/user-e2", "admin", `{"disabled":true}`)
		wantStatus(t, "a disabled user's session", me(s.token), 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "a disabled user signing in", e.loginAs("e2", testPassword, ""), 401, kamflow.EUNAUTHORIZED)
		e.must(200, "PATCH", "/api/v1/users/user-e2", "admin", `{"disabled":false}`)
		wantStatus(t, "the old session after re-enabling", me(s.token), 401, kamflow.EUNAUTHORIZED)
		s = e.login("e2")
		wantStatus(t, "a new session after re-enabling", me(s.token), 200, "")

		// Disabled in the store without the sessions being ended (another process, a restore):
		// the session is refused all the same.
		u, err := d.User(ctx, "user-e2")
		if err != nil {
			t.Fatal(err)
		}
		u.Disabled = true
		if err := d.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "a session of a user disabled in the store", me(s.token), 401, kamflow.EUNAUTHORIZED)

		// A new password.
		a, b := e.login("kam2"), e.login("kam2")
		const newPassword = "another long passphrase"
		e.must(200, "PATCH", "/api/v1/users/user-kam2", "admin", fmt.Sprintf(`{"password":%q}`, newPassword))
		wantStatus(t, "a session from before the password change", me(a.token), 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "another session from before the password change", me(b.token), 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "the old password", e.loginAs("kam2", testPassword, ""), 401, kamflow.EUNAUTHORIZED)
		wantStatus(t, "the new password", e.loginAs("kam2", newPassword, ""), 200, "")

		// A new role: the old session's rights must not outlive it.
		c := e.login("kam3")
		e.must(200, "PATCH", "/api/v1/users/user-kam3", "admin", `{"role":"engineer"}`)
		wantStatus(t, "a session from before the role change", me(c.token), 401, kamflow.EUNAUTHORIZED)

		// A change that grants nothing new (the name) leaves the sessions alone.
		k := e.login("kam1")
		e.must(200, "PATCH", "/api/v1/users/user-kam1", "admin", `{"name":"Li Wei"}`)
		wantStatus(t, "a session after a change of name", me(k.token), 200, "")

		// An admin cannot lock themselves out.
		r := e.serve(request{method: "PATCH", path: "/api/v1/users/user-admin", as: "admin", body: `{"disabled":true}`})
		wantStatus(t, "an admin disabling themselves", r, 400, kamflow.EINVALID)
	})
}

// cookieNamed returns the cookie of that name the response sets, or nil.
func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestCSRF: a write authenticated by the session cookie needs the session's X-CSRF-Token; one
// without it, or with a wrong one, is 403 and changes nothing. Reads need none, and neither do
// bearer requests, which no other site can make.
func TestCSRF(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		login := e.loginAs("kam1", testPassword, "")
		wantStatus(t, "login", login, 200, "")
		ck := cookieNamed(login.header, "kamflow_session")
		if ck == nil {
			t.Fatalf("login set no session cookie: %v", login.header)
		}
		csrf := fmt.Sprint(must(lookup(login.json, "csrf_token")))
		other := e.login("kam2") // another session's CSRF token
		cookie := func(token string) map[string]string {
			h := map[string]string{"Cookie": ck.Name + "=" + ck.Value}
			if token != "" {
				h["X-CSRF-Token"] = token
			}
			return h
		}
		_, deal := (&matrixRun{env: e}).fresh(development)
		seq := e.must(200, "GET", "/api/v1/deals/"+deal, "kam1", "")["seq"]

		// Reads by cookie need no token; me tells the UI its token.
		me := e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: cookie("")})
		wantStatus(t, "me by cookie", me, 200, "")
		if got, _ := lookup(me.json, "csrf_token"); got != csrf {
			t.Errorf("me gives the CSRF token %v, login gave %s", got, csrf)
		}
		wantStatus(t, "a read by cookie", e.serve(request{method: "GET", path: "/api/v1/deals/" + deal, headers: cookie("")}), 200, "")

		for name, token := range map[string]string{"without a token": "", "with a wrong token": "forged",
			"with another session's token": other.csrf, "with the session token itself": ck.Value} {
			r := e.serve(request{method: "POST", path: "/api/v1/accounts", body: `{"name":"CSRF Steel"}`, headers: cookie(token)})
			wantStatus(t, "a cookie write "+name, r, 403, kamflow.EFORBIDDEN)
			r = e.serve(request{method: "POST", path: "/api/v1/deals/" + deal + "/stakeholders", body: insider, headers: cookie(token)})
			wantStatus(t, "a cookie command "+name, r, 403, kamflow.EFORBIDDEN)
			r = e.serve(request{method: "POST", path: "/api/v1/auth/logout", headers: cookie(token)})
			wantStatus(t, "a cookie logout "+name, r, 403, kamflow.EFORBIDDEN)
		}
		if l := e.must(200, "GET", "/api/v1/accounts?q=csrf", "kam1", ""); l["total"] != float64(0) {
			t.Errorf("a refused cookie write created an account: %v", l)
		}
		if got := e.must(200, "GET", "/api/v1/deals/"+deal, "kam1", "")["seq"]; got != seq {
			t.Errorf("a refused cookie command moved the deal from seq %v to %v", seq, got)
		}

		wantStatus(t, "a cookie write with the token",
			e.serve(request{method: "POST", path: "/api/v1/accounts", body: `{"name":"CSRF Steel"}`, headers: cookie(csrf)}), 201, "")
		wantStatus(t, "a cookie command with the token",
			e.serve(request{method: "POST", path: "/api/v1/deals/" + deal + "/stakeholders", body: insider, headers: cookie(csrf)}), 200, "")
		wantStatus(t, "a bearer write without a token",
			e.serve(request{method: "POST", path: "/api/v1/accounts", body: `{"name":"Bearer Steel"}`, headers: bearer(ck.Value)}), 201, "")
		wantStatus(t, "a cookie logout with the token",
			e.serve(request{method: "POST", path: "/api/v1/auth/logout", headers: cookie(csrf)}), 204, "")
		wantStatus(t, "the cookie after logout", e.serve(request{method: "GET", path: "/api/v1/auth/me", headers: cookie("")}), 401, kamflow.EUNAUTHORIZED)
	})
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("missing")
	}
	return v
}

// TestSessionCookie: the session cookie is HttpOnly and SameSite, expires with the session, and
// is Secure when the request came over TLS or the server is told it sits behind a TLS proxy.
func TestSessionCookie(t *testing.T) {
	d := dbtest.SQLite(t)
	for _, tc := range []struct {
		name   string
		url    string
		proxy  bool
		secure bool
	}{
		{"plain HTTP", "/api/v1/auth/login", false, false},
		{"TLS", "https://kamflow.example/api/v1/auth/login", false, true},
		{"behind a TLS proxy", "/api/v1/auth/login", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &testEnv{t: t, db: d, clock: &clock{t: T0}, users: map[string]*kamflow.User{}, sessions: map[string]session{}}
			e.svc = newFakeService(d, e.clock.Now)
			e.srv = api.New(api.Config{Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d, Users: d,
				Sessions: d, Audit: d, Service: e.svc, Reports: d, Escalations: d, Fanout: e.svc, Emails: d, Deliveries: d, Delivery: e.svc, Now: e.clock.Now, SecureCookies: tc.proxy,
				Logger: slog.New(slog.DiscardHandler)})
			if tc.name == "plain HTTP" {
				e.createOrg()
			}
			r := e.serve(request{method: "POST", path: tc.url, body: `{"username":"kam1","password":"` + testPassword + `"}`})
			wantStatus(t, "login", r, 200, "")
			c := cookieNamed(r.header, "kamflow_session")
			if c == nil {
				t.Fatalf("no session cookie: %v", r.header["Set-Cookie"])
			}
			tok, _ := lookup(r.json, "token")
			if c.Value != tok || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.secure ||
				!c.Expires.Equal(T0.Add(12*time.Hour)) {
				t.Errorf("cookie %s: want the token, HttpOnly, SameSite=Lax, Path=/, Secure %v, expiring in 12 hours", r.header.Get("Set-Cookie"), tc.secure)
			}
			if hsts := r.header.Get("Strict-Transport-Security"); (hsts != "") != strings.HasPrefix(tc.url, "https:") {
				t.Errorf("Strict-Transport-Security %q over %s", hsts, tc.name)
			}
		})
	}
}

// TestSessionExpiry: a session ends SessionTTL after sign-in, by the server's clock.
func TestSessionExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(c *api.Config) { c.SessionTTL = 8 * time.Hour })
		s := e.login("kam1")
		if !s.expires.Equal(T0.Add(8 * time.Hour)) {
			t.Errorf("the session expires at %v, want 8 hours after sign-in", s.expires)
		}
		get := func() *response {
			return e.serve(request{method: "GET", path: "/api/v1/deals", headers: bearer(s.token)})
		}
		e.clock.Set(T0.Add(8*time.Hour - time.Second))
		wantStatus(t, "a second before the end", get(), 200, "")
		e.clock.Set(T0.Add(8 * time.Hour))
		r := get()
		wantStatus(t, "at the end", r, 401, kamflow.EUNAUTHORIZED)
		if msg, _ := lookup(r.json, "error.message"); !strings.Contains(fmt.Sprint(msg), "sign in again") {
			t.Errorf("the expired session's answer: %s", r.body)
		}
		// The default is 12 hours.
		e2 := newEnv(t, dbtest.SQLite(t))
		if s := e2.login("kam1"); !s.expires.Equal(T0.Add(12 * time.Hour)) {
			t.Errorf("the default session ends at %v, want after 12 hours", s.expires)
		}
	})
}

// TestSecurityHeaders: every answer, success or error, from the API, the health check, the
// OpenAPI document or the web UI, forbids inline script, framing and content sniffing.
func TestSecurityHeaders(t *testing.T) {
	d := dbtest.SQLite(t)
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<!doctype html><title>kamflow</title>")) })
	var panicked sync.Once
	e := newEnv(t, d, func(c *api.Config) {
		c.UI = ui
		c.Accounts = panicky{AccountStore: d, once: &panicked}
	})
	_, deal := (&matrixRun{env: e}).fresh(development)
	for _, r := range []request{
		{method: "GET", path: "/"},
		{method: "GET", path: "/board/deals/" + deal},
		{method: "GET", path: "/healthz"},
		{method: "POST", path: "/healthz"},
		{method: "GET", path: "/api/openapi.json"},
		{method: "GET", path: "/api/v1/deals"},
		{method: "GET", path: "/api/v1/deals", as: "kam1"},
		{method: "GET", path: "/api/v1/deals/" + deal, as: "kam3"},
		{method: "GET", path: "/api/v1/nope", as: "kam1"},
		{method: "GET", path: "/api/v1/users", as: "kam1"},
		{method: "POST", path: "/api/v1/accounts", as: "kam1", body: overLimit},
		{method: "POST", path: "/api/v1/accounts", as: "kam1", body: `{"name":`},
		{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kam1","password":"wrong password"}`},
		{method: "GET", path: "/api/v1/accounts", as: "kam1"}, // the store panics: 500
		{method: "OPTIONS", path: "/api/v1/deals", as: "kam1"},
	} {
		res := e.serve(r)
		what := fmt.Sprintf("%s %s (%d)", r.method, r.path, res.status)
		csp := res.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: Content-Security-Policy %q", what, csp)
		}
		for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := res.header.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", what, h, got, v)
			}
		}
	}
}

// panicky is an account store whose listing panics once: a bug in a handler's dependency.
type panicky struct {
	kamflow.AccountStore
	once *sync.Once
}

func (p panicky) Accounts(ctx context.Context, f kamflow.AccountFilter) ([]*kamflow.Account, int, error) {
	p.once.Do(func() { panic("index out of range [3] with length 3") })
	return p.AccountStore.Accounts(ctx, f)
}

// TestInternalErrorsShowNothing: a failing query and a panic answer 500 internal with a generic
// message; the SQL, the database's error and the stack go to the log only.
func TestInternalErrorsShowNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var logs bytes.Buffer
		var mu sync.Mutex
		var panicked sync.Once
		e := newEnv(t, d, func(c *api.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
			c.Accounts = panicky{AccountStore: d, once: &panicked}
		})
		e.session("kam1")
		if err := d.Gorm().Exec("DROP TABLE notifications").Error; err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			r      request
			inLogs string
		}{
			{request{method: "GET", path: "/api/v1/notifications", as: "kam1"}, "notifications"},
			{request{method: "GET", path: "/api/v1/accounts", as: "kam1"}, "index out of range"},
		} {
			r := e.serve(tc.r)
			wantStatus(t, tc.r.path, r, 500, kamflow.EINTERNAL)
			if msg, _ := lookup(r.json, "error.message"); msg != "internal error" {
				t.Errorf("%s: message %v", tc.r.path, msg)
			}
			low := strings.ToLower(string(r.body))
			for _, leak := range []string{"select", "from ", "table", "sqlstate", "relation", "sqlite", "postgres", "panic",
				"goroutine", ".go:", "index out of range", "notifications"} {
				if strings.Contains(low, leak) {
					t.Errorf("%s: the answer shows %q: %s", tc.r.path, leak, r.body)
				}
			}
			if err := api.CheckOpenAPI(tc.r.method, tc.r.path, nil, r.status, r.body); err != nil {
				t.Error(err)
			}
			mu.Lock()
			if !strings.Contains(logs.String(), tc.inLogs) {
				t.Errorf("%s: the log lacks the detail %q: %s", tc.r.path, tc.inLogs, logs.String())
			}
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		for _, secret := range []string{testPassword, e.session("kam1").token, passwordHash()} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds a secret: %s", logs.String())
			}
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAuditTrail: every change is on the audit trail with who, when and what — a deal's on its
// timeline (which its readers see), every one in GET /api/v1/audit (which directors and admins
// read) with the values before and after for account and user edits — and nothing in the product
// changes or deletes an entry.
func TestAuditTrail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		at := func(h int) { e.clock.Set(T0.Add(time.Duration(h) * time.Hour)) }

		at(1)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Audit Steel","region":"Hebei"}`)["id"].(string)
		at(2)
		e.must(200, "PATCH", "/api/v1/accounts/"+acct, "kam2", `{"region":"Hebei, Tangshan","notes":"Line 2"}`)
		at(3)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Audit deal","value":"100.00","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		at(4)
		e.must(200, "PUT", p+"/assessment", "kam1", assessPass)
		e.serve(request{method: "POST", path: p + "/contract/approve", as: "kam1"}) // refused: not on the trail
		e.serve(request{method: "POST", path: p + "/advance", as: "kam1", body: `{"force":"yes"}`})
		at(5)
		e.must(200, "POST", p+"/advance", "kam1", "")
		at(6)
		e.must(200, "POST", p+"/reassign", "d1", `{"owner":"kam2","reason":"kam1 is on leave"}`)
		at(7)
		e.must(200, "PUT", p+"/engineers", "kam2", `{"engineers":["e1"]}`)
		at(8)
		e.must(200, "PATCH", "/api/v1/users/user-e2", "admin", `{"name":"Engineer Two","teams":["west"]}`)
		e.must(200, "PUT", "/api/v1/settings/stages/entry", "admin", `{"sla":"40d"}`)
		west := e.must(201, "POST", "/api/v1/accounts", "kam3", `{"name":"West Steel"}`)["id"].(string)
		// kamflow's own change: the deal stalls past the new 40-day SLA.
		e.clock.Set(T0.Add(5*time.Hour + 40*kamflow.Day))
		if err := e.svc.runTimers(ctx); err != nil {
			t.Fatal(err)
		}

		// The timeline, newest first, for each of the deal's readers.
		want := []string{
			"deal.stalled by kamflow", "deal.sla by kamflow", "deal.assign_engineers by kam2", "deal.reassign by d1",
			"deal.advance by kam1", "deal.assessment by kam1", "deal.create by kam1",
		}
		for _, who := range []string{"kam1", "kam2", "d1", "e1"} {
			tl := e.timeline(t, deal, who)
			if got := actions(tl); strings.Join(got, "; ") != strings.Join(want, "; ") {
				t.Errorf("%s reads the timeline\n%s\nwant\n%s", who, strings.Join(got, "\n"), strings.Join(want, "\n"))
				continue
			}
			byAction := map[string]map[string]any{}
			for _, en := range tl {
				byAction[en["action"].(string)] = en
				if en["deal_id"] != deal || en["entity_type"] != "deal" || en["entity_id"] != deal || en["summary"] == "" {
					t.Errorf("timeline entry %s", jsonText(en))
				}
			}
			if en := byAction["deal.reassign"]; en["at"] != "2026-03-02T15:00:00Z" || jsonText(en["before"]) != `{"owner":"kam1"}` ||
				jsonText(en["after"]) != `{"owner":"kam2"}` || en["summary"] != "reassigned from kam1 to kam2" {
				t.Errorf("the reassignment on the timeline: %s", jsonText(en))
			}
			if en := byAction["deal.assessment"]; en["at"] != "2026-03-02T13:00:00Z" || en["before"] != nil ||
				!strings.Contains(jsonText(en["after"]), `"passed":true`) {
				t.Errorf("the assessment on the timeline: %s", jsonText(en))
			}
		}
		for _, who := range []string{"kam3", "d2", "e2"} {
			r := e.serve(request{method: "GET", path: p + "/timeline", as: who})
			wantStatus(t, who+" reading another team's timeline", r, 404, kamflow.ENOTFOUND)
		}

		// The whole trail: an admin reads every entry, with before and after of the edits.
		all := e.must(200, "GET", "/api/v1/audit?limit=200", "admin", "")
		entries := all["items"].([]any)
		find := func(action, id string) map[string]any {
			for _, it := range entries {
				en := it.(map[string]any)
				if en["action"] == action && en["entity_id"] == id {
					return en
				}
			}
			t.Fatalf("no %s of %s in the audit trail", action, id)
			return nil
		}
		if en := find("account.update", acct); en["actor"] != "kam2" || en["at"] != "2026-03-02T11:00:00Z" ||
			lookupStr(en, "before.region") != "Hebei" || lookupStr(en, "after.region") != "Hebei, Tangshan" ||
			lookupStr(en, "after.notes") != "Line 2" {
			t.Errorf("the account edit: %s", jsonText(en))
		}
		if en := find("user.update", "user-e2"); en["actor"] != "admin" || lookupStr(en, "before.name") != "e2" ||
			lookupStr(en, "after.name") != "Engineer Two" || jsonText(must(lookup(en, "before.teams"))) != `["east"]` ||
			jsonText(must(lookup(en, "after.teams"))) != `["west"]` {
			t.Errorf("the user edit: %s", jsonText(en))
		}
		if en := find("settings.sla", "entry"); en["actor"] != "admin" || jsonText(en["before"]) != `{"sla":"45d"}` || jsonText(en["after"]) != `{"sla":"40d"}` {
			t.Errorf("the SLA change: %s", jsonText(en))
		}
		find("account.create", acct)
		find("deal.create", deal)
		if strings.Contains(string(jsonText(all)), "$2a$") || strings.Contains(jsonText(all), "password") {
			t.Errorf("the audit trail shows a password hash: %s", jsonText(all))
		}
		if got := e.must(200, "GET", "/api/v1/audit?entity_type=account&entity_id="+acct, "admin", ""); got["total"] != float64(2) {
			t.Errorf("the account's entries: %v", got)
		}
		if got := e.must(200, "GET", "/api/v1/audit?actor=d1", "admin", ""); got["total"] != float64(1) {
			t.Errorf("d1's changes: %v", got)
		}

		// A director reads the entries of their teams' deals and accounts and the settings;
		// not another team's, nor the user administration.
		for who, want := range map[string]struct{ sees, not []string }{
			"d1": {sees: []string{"account.update " + acct, "deal.reassign " + deal, "settings.sla entry"},
				not: []string{"account.create " + west, "user.update user-e2"}},
			"d2": {sees: []string{"account.create " + west, "settings.sla entry"},
				not: []string{"account.update " + acct, "deal.create " + deal, "deal.reassign " + deal, "user.update user-e2"}},
		} {
			seen := map[string]bool{}
			list := e.must(200, "GET", "/api/v1/audit?limit=200", who, "")
			for _, it := range list["items"].([]any) {
				en := it.(map[string]any)
				seen[fmt.Sprint(en["action"], " ", en["entity_id"])] = true
			}
			for _, s := range want.sees {
				if !seen[s] {
					t.Errorf("%s does not see %s", who, s)
				}
			}
			for _, s := range want.not {
				if seen[s] {
					t.Errorf("%s sees %s", who, s)
				}
			}
			if got := e.must(200, "GET", "/api/v1/audit?deal_id="+deal, who, ""); (got["total"] != float64(0)) != (who == "d1") {
				t.Errorf("%s reads %v entries of team east's deal", who, got["total"])
			}
		}

		// No route changes or deletes an entry.
		id := fmt.Sprint(must(lookup(entries[0], "id")))
		total := all["total"]
		for _, m := range []string{"PUT", "PATCH", "DELETE", "POST"} {
			for _, path := range []string{"/api/v1/audit", "/api/v1/audit/" + id, p + "/timeline"} {
				r := e.serve(request{method: m, path: path, as: "admin", body: `{"summary":"nothing happened"}`})
				if r.status != 404 && r.status != 405 {
					t.Errorf("%s %s: %d, want 404 or 405: %s", m, path, r.status, r.body)
				}
				if code, _ := lookup(r.json, "error.code"); code == nil {
					t.Errorf("%s %s: not the error envelope: %s", m, path, r.body)
				}
			}
		}
		if got := e.must(200, "GET", "/api/v1/audit?limit=1", "admin", ""); got["total"] != total {
			t.Errorf("the trail has %v entries, had %v", got["total"], total)
		}
		// Nor can the database's own users.
		for _, stmt := range []string{"UPDATE audit_log SET summary = 'x'", "DELETE FROM audit_log"} {
			if err := d.Gorm().Exec(stmt).Error; err == nil {
				t.Errorf("%s: the database allowed it", stmt)
			}
		}
	})
}

func lookupStr(v any, path string) string {
	x, _ := lookup(v, path)
	s, _ := x.(string)
	return s
}

// TestDealServiceEnforcesTheRules: the deal service of these tests refuses a command the actor
// has no right to as the deal workflow's validator does, even when it comes past the API, and
// records nothing.
func TestDealServiceEnforcesTheRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		_, deal := (&matrixRun{env: e}).fresh(bidBelowFloor)
		seq := (&matrixRun{env: e}).seq(t, deal)
		approve := kamflow.Command{Kind: kamflow.CmdApproveMargin}
		for _, tc := range []struct {
			who  string
			cmd  kamflow.Command
			code string
		}{
			{"kam1", approve, kamflow.EFORBIDDEN},
			{"e1", kamflow.Command{Kind: kamflow.CmdStakeholder, Stakeholder: &kamflow.Stakeholder{Name: "x", Role: kamflow.RoleInsider, Stance: kamflow.StanceNeutral}}, kamflow.EFORBIDDEN},
			{"admin", kamflow.Command{Kind: kamflow.CmdResume}, kamflow.ENOTFOUND}, // the API answers 403 for the role first
			{"kam3", kamflow.Command{Kind: kamflow.CmdBid, Bid: &kamflow.BidInput{Cost: 1, Price: 2}}, kamflow.ENOTFOUND},
			{"d2", approve, kamflow.ENOTFOUND},
			{"e2", kamflow.Command{Kind: kamflow.CmdAcceptance, Acceptance: &kamflow.AcceptanceInput{Result: kamflow.AcceptancePass}}, kamflow.ENOTFOUND},
			{"kam2", kamflow.Command{Kind: kamflow.CmdReassign, Reassign: &kamflow.ReassignInput{Owner: "kam2"}}, kamflow.EFORBIDDEN},
		} {
			tc.cmd.Actor = e.users[tc.who].Actor()
			if _, err := e.svc.Execute(ctx, deal, tc.cmd, ""); kamflow.ErrorCode(err) != tc.code {
				t.Errorf("%s %s past the API: %v, want %s", tc.who, tc.cmd.Kind, err, tc.code)
			}
		}
		if got := (&matrixRun{env: e}).seq(t, deal); got != seq {
			t.Errorf("refused commands moved the deal from seq %d to %d", seq, got)
		}
		approve.Actor = e.users["d1"].Actor()
		if _, err := e.svc.Execute(ctx, deal, approve, ""); err != nil {
			t.Errorf("the director's approval: %v", err)
		}
	})
}

// TestSignInIsNeverReplayed: an Idempotency-Key on POST /api/v1/auth/login is ignored: the answer
// holds a session token, which must not be stored nor handed to a second request.
func TestSignInIsNeverReplayed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		body := `{"username":"kam1","password":"` + testPassword + `"}`
		var tokens []string
		for range 2 {
			r := e.serve(request{method: "POST", path: "/api/v1/auth/login", body: body, headers: map[string]string{"Idempotency-Key": "login-1"}})
			wantStatus(t, "login with an Idempotency-Key", r, 200, "")
			if r.header.Get("Idempotent-Replayed") != "" {
				t.Error("a sign-in was replayed")
			}
			tokens = append(tokens, lookupStr(r.json, "token"))
		}
		if tokens[0] == tokens[1] {
			t.Error("two sign-ins got the same session token")
		}
		if stored, err := d.IdempotentResponse(context.Background(), "login-1"); err != nil || stored != nil {
			t.Errorf("the sign-in's answer was stored: %v %v", stored, err)
		}
	})
}

// TestUsersAdmin: an admin creates users (who can then sign in, with the password hashed) and
// teams; the answers never show a password or its hash.
func TestUsersAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		team := e.must(201, "POST", "/api/v1/teams", "admin", `{"name":"North"}`)
		u := e.must(201, "POST", "/api/v1/users", "admin",
			fmt.Sprintf(`{"username":"kam4","name":"Zhou","role":"kam","teams":[%q],"password":"a long enough passphrase"}`, team["id"]))
		if u["role"] != "kam" || jsonText(u["teams"]) != fmt.Sprintf(`[%q]`, team["id"]) || u["disabled"] != false {
			t.Errorf("created user %v", u)
		}
		stored, err := d.UserByUsername(context.Background(), "kam4")
		if err != nil || !strings.HasPrefix(stored.PasswordHash, "$2") {
			t.Fatalf("the stored user: %+v %v", stored, err)
		}
		for _, path := range []string{"/api/v1/users", "/api/v1/users/" + u["id"].(string)} {
			r := e.serve(request{method: "GET", path: path, as: "admin"})
			wantStatus(t, path, r, 200, "")
			if bytes.Contains(r.body, []byte("password")) || bytes.Contains(r.body, []byte(stored.PasswordHash)) {
				t.Errorf("%s shows the password: %s", path, r.body)
			}
		}
		wantStatus(t, "the new user signs in", e.loginAs("kam4", "a long enough passphrase", ""), 200, "")
		for name, body := range map[string]string{
			"a taken username":       `{"username":"KAM1","role":"kam","password":"a long enough passphrase"}`,
			"a short password":       `{"username":"kam5","role":"kam","password":"short"}`,
			"an unknown role":        `{"username":"kam5","role":"root","password":"a long enough passphrase"}`,
			"an unknown team":        `{"username":"kam5","role":"kam","teams":["nowhere"],"password":"a long enough passphrase"}`,
			"no password":            `{"username":"kam5","role":"kam"}`,
			"a username with spaces": `{"username":"kam 5","role":"kam","password":"a long enough passphrase"}`,
		} {
			r := e.serve(request{method: "POST", path: "/api/v1/users", as: "admin", body: body})
			if r.status != 400 && r.status != 409 {
				t.Errorf("creating a user with %s: %d: %s", name, r.status, r.body)
			}
			if err := api.CheckOpenAPI("POST", "/api/v1/users", nil, r.status, r.body); err != nil {
				t.Error(err)
			}
		}
		wantStatus(t, "an unknown user", e.serve(request{method: "GET", path: "/api/v1/users/nobody", as: "admin"}), 404, kamflow.ENOTFOUND)
		me := e.must(200, "GET", "/api/v1/auth/me", "admin", "")
		if lookupStr(me, "user.username") != "admin" || jsonText(must(lookup(me, "user.teams"))) != "[]" {
			t.Errorf("me: %v", me)
		}
	})
}
