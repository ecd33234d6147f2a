package db_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// reserveAll makes n reservations at once, from as many goroutines, spread over the handles (two
// handles on one database are two API processes), and returns the reservations taken and the
// waits of those refused.
func reserveAll(t *testing.T, handles []*db.DB, n int, user func(i int) string, addr func(i int) string, at time.Time) (taken []int64, waits []time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, wait, err := handles[i%len(handles)].ReserveLogin(ctx, user(i), addr(i), at, kamflow.DefaultLoginPolicy)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if wait > 0 {
				waits = append(waits, wait)
			} else {
				taken = append(taken, id)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return taken, waits
}

// TestReserveLoginTogether: attempts made together are decided one after the other, whichever
// process makes them: of 12 for one username from one address exactly 5 are taken, of 30 for
// many usernames from one address exactly 20, on both dialects and over two handles on one
// database. A reservation counts until released; a success releases it.
func TestReserveLoginTogether(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		a, b := dbtest.Open(t, url), dbtest.Open(t, url)
		handles := []*db.DB{a, b}
		constant := func(s string) func(int) string { return func(int) string { return s } }

		taken, waits := reserveAll(t, handles, 12, constant("kam1"), constant("10.0.0.1"), t0)
		if len(taken) != 5 || len(waits) != 7 {
			t.Fatalf("12 at once for one username and address: %d taken, %d refused; want 5 and 7", len(taken), len(waits))
		}
		for _, w := range waits {
			if w != 15*time.Minute {
				t.Errorf("wait %v, want 15m", w)
			}
		}
		// Every spelling of the username is the same one.
		for _, u := range []string{"KAM1", "ＫＡＭ１", "ｋａｍ１"} {
			if _, wait, err := a.ReserveLogin(ctx, u, "10.0.0.1", t0, kamflow.DefaultLoginPolicy); err != nil || wait == 0 {
				t.Errorf("%q from the locked address: wait %v, %v; want refused", u, wait, err)
			}
		}
		// Another address is another pair.
		id, wait, err := b.ReserveLogin(ctx, "kam1", "10.0.0.2", t0, kamflow.DefaultLoginPolicy)
		if err != nil || wait != 0 || id == 0 {
			t.Fatalf("kam1 from another address: %d %v %v", id, wait, err)
		}
		// A released reservation (a success) no longer counts: one slot opens.
		if err := b.ReleaseLogin(ctx, taken[0]); err != nil {
			t.Fatal(err)
		}
		if err := a.ReleaseLogin(ctx, taken[0]); err != nil {
			t.Errorf("releasing twice: %v", err)
		}
		taken2, _ := reserveAll(t, handles, 4, constant("kam1"), constant("10.0.0.1"), t0.Add(time.Minute))
		if len(taken2) != 1 {
			t.Errorf("after one release, %d taken of 4, want 1", len(taken2))
		}
		// The pair waits until the 5th most recent attempt (one of t0's) is 15 minutes old.
		if _, wait, _ := a.ReserveLogin(ctx, "kam1", "10.0.0.1", t0.Add(14*time.Minute), kamflow.DefaultLoginPolicy); wait != time.Minute {
			t.Errorf("at +14m: wait %v, want 1m", wait)
		}
		if _, wait, _ := a.ReserveLogin(ctx, "kam1", "10.0.0.1", t0.Add(15*time.Minute), kamflow.DefaultLoginPolicy); wait != 0 {
			t.Errorf("at +15m: wait %v, want none", wait)
		}

		// 30 usernames from one address at once: 20 taken.
		taken, waits = reserveAll(t, handles, 30, func(i int) string { return fmt.Sprintf("user%d", i) }, constant("10.9.9.9"), t0)
		if len(taken) != 20 || len(waits) != 10 {
			t.Fatalf("30 at once from one address: %d taken, %d refused; want 20 and 10", len(taken), len(waits))
		}
		// An empty address has no address limit (only the pair's).
		taken, _ = reserveAll(t, handles, 30, func(i int) string { return fmt.Sprintf("user%d", i) }, constant(""), t0)
		if len(taken) != 30 {
			t.Errorf("30 with no address: %d taken, want 30", len(taken))
		}
	})
}

// TestReserveLoginUserDelays: a username's attempts from every address together delay it from
// the 50th in a day on, twice as long each time — but not from an address its user has signed
// in from within the week.
func TestReserveLoginUserDelays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := kamflow.DefaultLoginPolicy
		if err := d.CreateUser(ctx, &kamflow.User{ID: "u-dir", Username: "Director", Role: kamflow.UserDirector, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateSession(ctx, &kamflow.Session{ID: "s1", TokenHash: "h1", UserID: "u-dir", CreatedAt: t0.Add(-6 * 24 * time.Hour),
			ExpiresAt: t0.Add(-6*24*time.Hour + 12*time.Hour), Address: "192.0.2.10"}); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateSession(ctx, &kamflow.Session{ID: "s2", TokenHash: "h2", UserID: "u-dir", CreatedAt: t0.Add(-8 * 24 * time.Hour),
			ExpiresAt: t0.Add(-8*24*time.Hour + 12*time.Hour), Address: "192.0.2.11"}); err != nil {
			t.Fatal(err)
		}
		at := t0
		// 50 failures from 10 addresses, 5 each, over the hours.
		for i := range 50 {
			at = t0.Add(time.Duration(i) * time.Minute)
			if _, wait, err := d.ReserveLogin(ctx, "director", fmt.Sprintf("198.51.100.%d", i/5), at, p); err != nil || wait != 0 {
				t.Fatalf("failure %d: wait %v, %v", i+1, wait, err)
			}
		}
		want := time.Second
		for i := range 12 {
			addr := fmt.Sprintf("203.0.113.%d", i)
			_, wait, err := d.ReserveLogin(ctx, "DIRECTOR", addr, at, p)
			if err != nil || wait != want {
				t.Fatalf("attempt %d past 50 from a new address: wait %v, %v; want %v", i+1, wait, err, want)
			}
			// From where the director signed in 6 days ago: no delay; they sign in.
			id, wait, err := d.ReserveLogin(ctx, "director", "192.0.2.10", at, p)
			if err != nil || wait != 0 {
				t.Fatalf("from the known address: wait %v, %v", wait, err)
			}
			if err := d.ReleaseLogin(ctx, id); err != nil {
				t.Fatal(err)
			}
			// 8 days ago is too long ago.
			if _, wait, _ := d.ReserveLogin(ctx, "director", "192.0.2.11", at, p); wait != want {
				t.Fatalf("from an address of 8 days ago: wait %v, want %v", wait, want)
			}
			at = at.Add(want)
			if _, wait, err := d.ReserveLogin(ctx, "director", addr, at, p); err != nil || wait != 0 {
				t.Fatalf("once the delay has passed: wait %v, %v", wait, err)
			}
			want = min(2*want, 15*time.Minute)
		}
		if want != 15*time.Minute {
			t.Errorf("the delay did not reach its cap: %v", want)
		}
		// A day later the username starts afresh.
		if _, wait, _ := d.ReserveLogin(ctx, "director", "203.0.113.200", at.Add(24*time.Hour), p); wait != 0 {
			t.Errorf("a day later: wait %v", wait)
		}
	})
}
