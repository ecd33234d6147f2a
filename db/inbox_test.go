package db_test

import (
	"testing"

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
