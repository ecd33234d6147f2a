package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// The sign-in hardening of issue 12: throttling that holds when attempts come together and across
// API processes, lockouts by username and address rather than by username, PRECIS usernames,
// common-password checks and Cache-Control: no-store.

// attempt is one sign-in of a burst: as whom, with what password, from which client address.
type attempt struct{ username, password, from string }

// signInTogether sends the attempts at once over real HTTP connections, spread over the servers
// (several API processes), each from its address by X-Forwarded-For (the servers trust the
// proxy), and returns the statuses in the attempts' order.
func signInTogether(t *testing.T, servers []*httptest.Server, attempts []attempt) []int {
	t.Helper()
	statuses := make([]int, len(attempts))
	errs := make([]error, len(attempts))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"username": a.username, "password": a.password})
			req, err := http.NewRequest("POST", servers[i%len(servers)].URL+"/api/v1/auth/login", strings.NewReader(string(body)))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", a.from)
			<-start
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return statuses
}

func tally(statuses []int) map[int]int {
	m := map[int]int{}
	for _, s := range statuses {
		m[s]++
	}
	return m
}

func trustProxy(c *api.Config) { c.TrustProxy = true }

// replica is a second API process of the test environment, on its own connections to the
// database (d, opened on the same URL).
func replica(e *testEnv, d *db.DB) *api.Server {
	return api.New(api.Config{Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d, Users: d,
		Sessions: d, Audit: d, Service: e.svc, Reports: d, Escalations: d, Fanout: e.svc, Emails: d, Deliveries: d,
		Delivery: e.svc, Now: e.clock.Now, TrustProxy: true, Logger: slog.New(slog.DiscardHandler)})
}

// TestSignInsTogetherAreThrottled: sign-ins sent together, to two API processes on one
// database, are counted before their passwords are checked, so no more are checked than the
// limits allow: of 12 for one user from one address (11 wrong, the right one among them) exactly
// 5 are checked — the right password is never accepted after 5 wrong ones — and the rest are 429;
// of 30 for 30 usernames from one address exactly 20 are checked.
func TestSignInsTogetherAreThrottled(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		d1, d2 := dbtest.Open(t, url), dbtest.Open(t, url)
		e := newEnv(t, d1, trustProxy)
		s1, s2 := httptest.NewServer(e.srv), httptest.NewServer(replica(e, d2))
		defer s1.Close()
		defer s2.Close()
		servers := []*httptest.Server{s1, s2}

		// Twelve wrong passwords together: five are checked.
		var burst []attempt
		for i := range 12 {
			burst = append(burst, attempt{"kam1", fmt.Sprintf("guess number %d", i), "198.51.100.7"})
		}
		got := tally(signInTogether(t, servers, burst))
		if got[401] != 5 || got[429] != 7 {
			t.Fatalf("12 wrong sign-ins together for kam1 from one address: %v; want 5 × 401 and 7 × 429", got)
		}
		right := request{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kam1","password":"` + testPassword + `"}`,
			remote: "127.0.0.1:1234", headers: map[string]string{"X-Forwarded-For": "198.51.100.7"}}
		wantStatus(t, "kam1's right password after them", e.serve(right), 429, kamflow.ERATELIMITED)

		// Eleven wrong and the right one together: never more than five failures are checked, so
		// the right password is accepted only as one of the first five (its success frees its
		// place for one more); the right password afterwards is refused exactly when five failed.
		burst = nil
		for i := range 11 {
			burst = append(burst, attempt{"kam2", fmt.Sprintf("guess number %d", i), "198.51.100.8"})
		}
		burst = append(burst[:6], append([]attempt{{"kam2", testPassword, "198.51.100.8"}}, burst[6:]...)...)
		got = tally(signInTogether(t, servers, burst))
		if got[401] > 5 || got[401]+got[200] < 5 || got[200] > 1 || got[401]+got[200]+got[429] != 12 {
			t.Fatalf("11 wrong and 1 right sign-in together for kam2 from one address: %v; want at most 5 × 401, the rest 429 (or 200 for the right one)", got)
		}
		want := 200
		if got[401] == 5 {
			want = 429
		}
		right.body = `{"username":"kam2","password":"` + testPassword + `"}`
		right.headers["X-Forwarded-For"] = "198.51.100.8"
		if r := e.serve(right); r.status != want {
			t.Errorf("kam2's right password after the burst %v: %d, want %d: %s", got, r.status, want, r.body)
		}

		burst = nil
		for i := range 30 {
			burst = append(burst, attempt{fmt.Sprintf("user%02d", i), "wrong password", "203.0.113.9"})
		}
		got = tally(signInTogether(t, servers, burst))
		if got[401] != 20 || got[429] != 10 {
			t.Fatalf("30 sign-ins together from one address: %v; want 20 × 401 and 10 × 429", got)
		}
		got = tally(signInTogether(t, servers, []attempt{{"kam2", testPassword, "203.0.113.9"}, {"kam2", testPassword, "203.0.113.10"}}))
		if got[429] != 1 || got[200] != 1 {
			t.Errorf("kam2 from the address that failed 20 times and from another: %v; want one 429 and one 200", got)
		}
	})
}

// TestStrangerCannotLockOutDirector: five wrong passwords from a stranger's address lock the
// director out of that address only; they sign in from their office and from a new address.
// Only many failures from many addresses slow the director's sign-ins, with delays that double
// up to 15 minutes — and not from the office, where they signed in before.
func TestStrangerCannotLockOutDirector(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		const office, stranger = "198.51.100.7:5000", "203.0.113.9:6000"
		wantStatus(t, "d1 from the office", e.loginAs("d1", testPassword, office), 200, "")
		for i := range 5 {
			wantStatus(t, fmt.Sprintf("the stranger's guess %d", i+1), e.loginAs("d1", fmt.Sprintf("guess %d", i), stranger), 401, kamflow.EUNAUTHORIZED)
		}
		r := e.loginAs("d1", testPassword, stranger)
		wantStatus(t, "the right password from the stranger's address", r, 429, kamflow.ERATELIMITED)
		if ra := r.header.Get("Retry-After"); ra != "900" {
			t.Errorf("Retry-After %q, want 900", ra)
		}
		if err := api.CheckOpenAPI("POST", "/api/v1/auth/login", nil, r.status, r.body); err != nil {
			t.Error(err)
		}
		wantStatus(t, "d1 from the office after the stranger's five", e.loginAs("d1", testPassword, office), 200, "")
		wantStatus(t, "d1 from a new address after the stranger's five", e.loginAs("d1", testPassword, "192.0.2.50:1"), 200, "")

		// Many addresses, five guesses each: 50 failures in all. (Recorded in the store: 45 more
		// bcrypt checks would only make the test slow.)
		for a := range 9 {
			for i := range 5 {
				if err := d.RecordLoginFailure(context.Background(), "d1", fmt.Sprintf("198.18.0.%d", a), T0.Add(-time.Duration(i+1)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// From here on, every attempt for d1 from an address d1 has not signed in from waits,
		// twice as long after each failure; the office is not held up.
		wait := 1
		for i := range 11 {
			from := fmt.Sprintf("198.19.0.%d:7000", i)
			r := e.loginAs("d1", testPassword, from)
			wantStatus(t, fmt.Sprintf("d1 from a new address after %d failures", 50+i), r, 429, kamflow.ERATELIMITED)
			if ra := r.header.Get("Retry-After"); ra != strconv.Itoa(wait) {
				t.Fatalf("after %d failures: Retry-After %q, want %d", 50+i, ra, wait)
			}
			if i%4 == 0 {
				wantStatus(t, fmt.Sprintf("d1 from the office after %d failures", 50+i), e.loginAs("d1", testPassword, office), 200, "")
			}
			e.clock.Set(e.clock.Now().Add(time.Duration(wait) * time.Second))
			wantStatus(t, "a guess once the delay has passed", e.loginAs("d1", "one more guess", from), 401, kamflow.EUNAUTHORIZED)
			wait = min(2*wait, 900)
		}
		if wait != 900 {
			t.Errorf("the delay did not reach 15 minutes: %d s", wait)
		}
		// Another user is not held up at all.
		wantStatus(t, "d2 from a new address", e.loginAs("d2", testPassword, "198.19.1.1:1"), 200, "")
	})
}

// TestUsernamesArePRECIS: a username is kept in its PRECIS form and compared by it: the
// full-width ＫＡＭ１ is kam1's (taken), signs in as kam1 and counts against kam1's limit; a
// username mixing scripts (a Cyrillic а in kаm1) is refused.
func TestUsernamesArePRECIS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		create := func(username string) *response {
			return e.serve(request{method: "POST", path: "/api/v1/users", as: "admin",
				body: fmt.Sprintf(`{"username":%q,"role":"kam","teams":["east"],"password":"a long enough passphrase"}`, username)})
		}
		for _, taken := range []string{"ＫＡＭ１", "ｋａｍ１", "KAM1"} {
			r := create(taken)
			wantStatus(t, "creating "+taken, r, 409, kamflow.ECONFLICT)
			if err := api.CheckOpenAPI("POST", "/api/v1/users", nil, r.status, r.body); err != nil {
				t.Error(err)
			}
		}
		r := create("kаm1") // Cyrillic а
		wantStatus(t, "a mixed-script look-alike", r, 400, kamflow.EINVALID)
		if msg := lookupStr(r.json, "error.message"); !strings.Contains(msg, "script") || lookupStr(r.json, "error.details.field") != "username" {
			t.Errorf("the look-alike's refusal: %s", r.body)
		}
		created := e.must(201, "POST", "/api/v1/users", "admin", `{"username":"ＫＡＭ９","role":"kam","teams":["east"],"password":"a long enough passphrase"}`)
		if created["username"] != "KAM9" {
			t.Errorf("the full-width username is kept as %v, want KAM9", created["username"])
		}
		for _, as := range []string{"kam9", "KAM9", "ｋａｍ９"} {
			r := e.loginAs(as, "a long enough passphrase", "")
			wantStatus(t, "signing in as "+as, r, 200, "")
			if lookupStr(r.json, "user.username") != "KAM9" {
				t.Errorf("signing in as %s: %s", as, r.body)
			}
		}
		wantStatus(t, "renaming kam2 to ＫＡＭ１",
			e.serve(request{method: "PATCH", path: "/api/v1/users/user-kam2", as: "admin", body: `{"username":"ＫＡＭ１"}`}), 409, kamflow.ECONFLICT)

		// Every spelling of kam1 counts against kam1.
		const from = "198.51.100.20:1"
		for _, as := range []string{"ＫＡＭ１", "Kam1", "ｋａｍ１", "KAM1", "kam1"} {
			wantStatus(t, "a wrong password as "+as, e.loginAs(as, "wrong password", from), 401, kamflow.EUNAUTHORIZED)
		}
		wantStatus(t, "kam1 after five failures in five spellings", e.loginAs("kam1", testPassword, from), 429, kamflow.ERATELIMITED)
	})
}

// TestPasswordPolicy: a new password is refused when it is a common one (1234567890,
// Password2024!), a sequence or repetition, or holds the username — on creation and on change.
func TestPasswordPolicy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, p := range []string{"1234567890", "Password2024!", "qwertyuiop", "iloveyou1314", "abcabcabcabc", "P@ssw0rd!!", "0987654321abc"} {
			r := e.serve(request{method: "POST", path: "/api/v1/users", as: "admin",
				body: fmt.Sprintf(`{"username":"kam5","role":"kam","password":%q}`, p)})
			wantStatus(t, "creating a user with the password "+p, r, 400, kamflow.EINVALID)
			if lookupStr(r.json, "error.details.field") != "password" {
				t.Errorf("password %q: %s", p, r.body)
			}
			if err := api.CheckOpenAPI("POST", "/api/v1/users", nil, r.status, r.body); err != nil {
				t.Error(err)
			}
			r = e.serve(request{method: "PATCH", path: "/api/v1/users/user-kam2", as: "admin", body: fmt.Sprintf(`{"password":%q}`, p)})
			wantStatus(t, "changing a password to "+p, r, 400, kamflow.EINVALID)
		}
		wantStatus(t, "a new user's password holding their username", e.serve(request{method: "POST", path: "/api/v1/users", as: "admin",
			body: `{"username":"kam5","role":"kam","password":"kam5 is my name"}`}), 400, kamflow.EINVALID)
		wantStatus(t, "kam2's password holding their username",
			e.serve(request{method: "PATCH", path: "/api/v1/users/user-kam2", as: "admin", body: `{"password":"the kam2 of east"}`}), 400, kamflow.EINVALID)
		wantStatus(t, "kam2 still signs in with the old password", e.loginAs("kam2", testPassword, ""), 200, "")
		e.must(200, "PATCH", "/api/v1/users/user-kam2", "admin", `{"password":"granite otter lantern"}`)
		wantStatus(t, "kam2 with the new password", e.loginAs("kam2", "granite otter lantern", ""), 200, "")
	})
}

// TestNoStore: every answer under /api/v1 — the sign-in's, every authenticated one, their errors
// and the 401s — is Cache-Control: no-store.
func TestNoStore(t *testing.T) {
	d := dbtest.SQLite(t)
	e := newEnv(t, d)
	_, deal := (&matrixRun{env: e}).fresh(development)
	s := e.login("kam3")
	for _, r := range []request{
		{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kam1","password":"` + testPassword + `"}`},
		{method: "POST", path: "/api/v1/auth/login", body: `{"username":"kam1","password":"wrong password"}`},
		{method: "POST", path: "/api/v1/auth/login", body: `{"username":`},
		{method: "GET", path: "/api/v1/auth/me", as: "kam1"},
		{method: "GET", path: "/api/v1/deals", as: "kam1"},
		{method: "GET", path: "/api/v1/deals/" + deal, as: "kam1"},
		{method: "GET", path: "/api/v1/deals/" + deal + "/timeline", as: "kam1"},
		{method: "GET", path: "/api/v1/deals/" + deal, as: "kam3"},
		{method: "GET", path: "/api/v1/users", as: "admin"},
		{method: "GET", path: "/api/v1/users", as: "kam1"},
		{method: "POST", path: "/api/v1/accounts", as: "kam1", body: `{"name":"No Store Steel"}`},
		{method: "POST", path: "/api/v1/accounts", as: "kam1", body: overLimit},
		{method: "GET", path: "/api/v1/exports/accounts", as: "kam1"},
		{method: "GET", path: "/api/v1/nope", as: "kam1"},
		{method: "GET", path: "/api/v1/deals"},
		{method: "GET", path: "/api/v1/deals", headers: map[string]string{"Cookie": "kamflow_session=" + s.token}},
		{method: "POST", path: "/api/v1/auth/logout", headers: bearer(s.token)},
	} {
		res := e.serve(r)
		if got := res.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s as %q (%d): Cache-Control %q, want no-store", r.method, r.path, r.as, res.status, got)
		}
	}
}
