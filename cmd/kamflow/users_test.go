package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
)

// TestUserAdd creates the first admin the way an operator would: the password on standard input,
// the database from the flag; the admin can then sign in, and the password is stored hashed.
func TestUserAdd(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "kamflow.db")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = stdin }()
	w.WriteString("correct horse battery\n")
	w.Close()
	err = runUser(context.Background(), quietLogger(), []string{"add", "--username", "chief", "--role", "admin", "--name", "Chief Admin",
		"--email", "chief@example.com", "--database-url", dbPath})
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u, err := d.UserByUsername(context.Background(), "chief")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != kamflow.UserAdmin || u.PasswordHash == "" || u.PasswordHash == "correct horse battery" {
		t.Fatalf("created user: role %s, hash %q", u.Role, u.PasswordHash)
	}
	if got, err := d.EmailsByUserID(context.Background(), []string{u.ID}); err != nil || got[u.ID] != "chief@example.com" {
		t.Errorf("e-mail %v, %v", got, err)
	}
	// A weak password and an unknown role are refused before anything is written.
	os.Stdin, _ = pipeWith(t, "short\n")
	if err := runUser(context.Background(), quietLogger(), []string{"add", "--username", "x1", "--role", "kam", "--database-url", dbPath}); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("weak password: %v", err)
	}
	// A password holding the username, or the name, is refused as the API refuses it.
	os.Stdin, _ = pipeWith(t, "my-oskar4-password-26\n")
	if err := runUser(context.Background(), quietLogger(), []string{"add", "--username", "oskar4", "--role", "kam", "--database-url", dbPath}); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("password holding the username: %v", err)
	}
	os.Stdin, _ = pipeWith(t, "zhangwei-rocks-2026\n")
	if err := runUser(context.Background(), quietLogger(), []string{"add", "--username", "x5", "--name", "Zhangwei", "--role", "kam", "--database-url", dbPath}); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("password holding the name: %v", err)
	}
	if err := runUser(context.Background(), quietLogger(), []string{"add", "--username", "x2", "--role", "boss", "--database-url", dbPath}); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("unknown role: %v", err)
	}
	os.Stdin, _ = pipeWith(t, "correct horse battery\n")
	if err := runUser(context.Background(), quietLogger(), []string{"add", "--username", "x3", "--role", "kam", "--email", "X3 <x3@example.com>", "--database-url", dbPath}); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("bad e-mail: %v", err)
	}
}

func pipeWith(t *testing.T, s string) (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(s)
	w.Close()
	return r, w
}

// TestDemoUsersOnce: dev mode creates its demo users and teams once; a restart finds them.
func TestDemoUsersOnce(t *testing.T) {
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "kamflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for range 2 {
		if err := ensureDemoUsers(context.Background(), quietLogger(), d, "demo"); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := d.CountUsers(context.Background())
	teams, _ := d.Teams(context.Background())
	if n != 6 || len(teams) != 2 {
		t.Fatalf("%d users in %d teams, want 6 in 2", n, len(teams))
	}
	k1, _ := d.UserByUsername(context.Background(), "kam1")
	k2, _ := d.UserByUsername(context.Background(), "kam2")
	k3, _ := d.UserByUsername(context.Background(), "kam3")
	dir, _ := d.UserByUsername(context.Background(), "director")
	if k1.Teams[0] != k2.Teams[0] || k1.Teams[0] == k3.Teams[0] || dir.Teams[0] != k1.Teams[0] {
		t.Fatalf("teams: kam1 %v kam2 %v kam3 %v director %v", k1.Teams, k2.Teams, k3.Teams, dir.Teams)
	}
}
