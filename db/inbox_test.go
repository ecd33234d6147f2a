package db_test

import (
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestUserLanguage: the language a user reads kamflow in is stored by CreateUser, UpdateUser and
// EditUser, read back by every read of a user, and "" for a user who has not chosen one.
func TestUserLanguage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, u := range []*kamflow.User{
			{ID: "u1", Username: "kam1", Role: kamflow.UserKAM, Language: kamflow.LangChinese, CreatedAt: t0, UpdatedAt: t0},
			{ID: "u2", Username: "dir1", Role: kamflow.UserDirector, CreatedAt: t0, UpdatedAt: t0},
		} {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		lang := func(id, want string) {
			t.Helper()
			u, err := d.User(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Language != want {
				t.Errorf("user %s: language %q, want %q", id, u.Language, want)
			}
			byName, err := d.UserByUsername(ctx, u.Username)
			if err != nil || byName.Language != want {
				t.Errorf("user %s by username: language %q (%v), want %q", id, byName.Language, err, want)
			}
		}
		lang("u1", kamflow.LangChinese)
		lang("u2", "")
		users, err := d.Users(ctx)
		if err != nil || len(users) != 2 || users[1].Language != kamflow.LangChinese {
			t.Fatalf("Users: %+v, %v", users, err)
		}

		u, _ := d.User(ctx, "u2")
		u.Language = kamflow.LangEnglish
		if err := d.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		lang("u2", kamflow.LangEnglish)

		// EditUser writes the language alone, at the next version; the same language again
		// writes nothing.
		out, err := d.EditUser(ctx, "u1", kamflow.Edit{By: "kam1", At: t0}, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
			u.Language = kamflow.LangEnglish
			return nil, nil
		})
		if err != nil || out.Language != kamflow.LangEnglish || out.Version != 2 {
			t.Fatalf("EditUser: %+v, %v", out, err)
		}
		lang("u1", kamflow.LangEnglish)
		out, err = d.EditUser(ctx, "u1", kamflow.Edit{By: "kam1", At: t0}, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
			u.Language = kamflow.LangEnglish
			return nil, nil
		})
		if err != nil || out.Version != 2 {
			t.Fatalf("EditUser of nothing: %+v, %v", out, err)
		}
	})
}

// TestInbox: a notification's params are stored and read back (none for one stored without); the
// inbox pages a user's notifications newest first with the total and the unread count, lists the
// unread alone, marks one read (another user's is not found, a second read keeps the first time)
// and marks all read up to the newest the user saw, leaving a later one unread.
func TestInbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var ns []kamflow.Notification
		for i := range 5 {
			n := kamflow.Notification{UserID: "kam1", DealID: "deal-1", Kind: kamflow.NoticeStalled,
				Key: "k" + string(rune('a'+i)), Message: "deal-1 stalled", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if i > 0 {
				n.Params = map[string]string{kamflow.NoticeParamTitle: "压缩机 Compressor “A”", kamflow.NoticeParamStage: "bid", kamflow.NoticeParamSLA: "5d"}
			}
			ns = append(ns, n)
		}
		ns = append(ns, kamflow.Notification{UserID: "dir1", Kind: kamflow.NoticeDigest, Message: "digest", CreatedAt: t0})
		if err := d.Notify(ctx, ns); err != nil {
			t.Fatal(err)
		}
		p, err := d.Inbox(ctx, kamflow.InboxFilter{UserID: "kam1", Page: kamflow.Page{Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 5 || p.Unread != 5 || len(p.Items) != 2 || p.Items[0].Key != "ke" || p.Items[1].Key != "kd" {
			t.Fatalf("first page: %+v", p)
		}
		if got := p.Items[0].Params; got[kamflow.NoticeParamTitle] != "压缩机 Compressor “A”" || got[kamflow.NoticeParamStage] != "bid" || got[kamflow.NoticeParamSLA] != "5d" || len(got) != 3 {
			t.Errorf("params read back: %v", got)
		}
		last, err := d.Inbox(ctx, kamflow.InboxFilter{UserID: "kam1", Page: kamflow.Page{Limit: 2, Offset: 4}})
		if err != nil || len(last.Items) != 1 || last.Items[0].Key != "ka" || last.Items[0].Params != nil {
			t.Fatalf("last page (a notice stored without params): %+v, %v", last, err)
		}
		oldest := last.Items[0].ID

		// Marked read: once, by its own user only.
		at := t0.Add(time.Hour)
		n, err := d.MarkNotificationRead(ctx, "kam1", p.Items[0].ID, at)
		if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(at) || n.Key != "ke" {
			t.Fatalf("marked read: %+v, %v", n, err)
		}
		if n, err := d.MarkNotificationRead(ctx, "kam1", p.Items[0].ID, at.Add(time.Hour)); err != nil || !n.ReadAt.Equal(at) {
			t.Errorf("read again: %+v, %v", n, err)
		}
		_, err = d.MarkNotificationRead(ctx, "dir1", p.Items[1].ID, at)
		wantCode(t, err, kamflow.ENOTFOUND)
		_, err = d.MarkNotificationRead(ctx, "kam1", 999999, at)
		wantCode(t, err, kamflow.ENOTFOUND)

		unread, err := d.Inbox(ctx, kamflow.InboxFilter{UserID: "kam1", Unread: true})
		if err != nil || unread.Total != 4 || unread.Unread != 4 || len(unread.Items) != 4 || unread.Items[0].Key != "kd" {
			t.Fatalf("unread: %+v, %v", unread, err)
		}
		// All read up to the second oldest: the newer ones stay unread.
		if n, err := d.MarkAllNotificationsRead(ctx, "kam1", oldest+1, at); err != nil || n != 2 {
			t.Fatalf("marked %d up to %d: %v", n, oldest+1, err)
		}
		if p, _ := d.Inbox(ctx, kamflow.InboxFilter{UserID: "kam1"}); p.Unread != 2 || p.Total != 5 {
			t.Errorf("after marking up to an id: %+v", p)
		}
		if n, err := d.MarkAllNotificationsRead(ctx, "kam1", 0, at); err != nil || n != 2 {
			t.Fatalf("marked all: %d, %v", n, err)
		}
		if p, _ := d.Inbox(ctx, kamflow.InboxFilter{UserID: "kam1", Unread: true}); p.Unread != 0 || p.Total != 0 || len(p.Items) != 0 {
			t.Errorf("after marking all: %+v", p)
		}
		if p, _ := d.Inbox(ctx, kamflow.InboxFilter{UserID: "dir1"}); p.Unread != 1 || p.Total != 1 {
			t.Errorf("another user's inbox: %+v", p)
		}
		// The older listing reads the params too.
		if got, err := d.Notifications(ctx, "kam1", 1); err != nil || got[0].Params[kamflow.NoticeParamStage] != "bid" {
			t.Errorf("Notifications: %+v, %v", got, err)
		}
	})
}
