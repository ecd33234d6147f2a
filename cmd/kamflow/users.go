package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
)

// runUser handles `kamflow user add`: the way to create the first admin of a production
// installation (who then manages everyone else over the API). The password is read from standard
// input, never from a flag, so it stays out of shell history and process listings.
func runUser(ctx context.Context, logger *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(`usage: kamflow user add --username NAME --role admin|director|kam|engineer [--name "Full Name"] [--teams "Team A,Team B"] [--email li.ming@example.com]`)
	}
	fs := flag.NewFlagSet("kamflow user add", flag.ContinueOnError)
	username := fs.String("username", "", "login name (required)")
	role := fs.String("role", "", "admin, director, kam or engineer (required)")
	name := fs.String("name", "", "full name")
	teams := fs.String("teams", "", "comma-separated team names; created when missing")
	email := fs.String("email", "", "e-mail address for stall and escalation notices and the daily digest")
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "postgres://… URL or SQLite file path (DATABASE_URL); default ./data/kamflow.db")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dbURL == "" {
		*dbURL = "./data/kamflow.db"
	}
	r, err := kamflow.ParseUserRole(*role)
	if err != nil {
		return err
	}
	if err := kamflow.ValidateUsername(*username); err != nil {
		return err
	}
	if *email != "" {
		if err := kamflow.ValidateEmail(*email); err != nil {
			return err
		}
	}
	password, err := readPassword(os.Stdin, os.Stderr)
	if err != nil {
		return err
	}
	// As the API checks it (api/users.go): a password holding the username or the name is refused.
	if err := kamflow.ValidatePassword(password, *username, *name); err != nil {
		return err
	}
	d, err := db.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	var teamNames []string
	for _, t := range strings.Split(*teams, ",") {
		if t = strings.TrimSpace(t); t != "" {
			teamNames = append(teamNames, t)
		}
	}
	u, err := addUser(ctx, d, *username, *name, r, teamNames, password)
	if err != nil {
		return err
	}
	if *email != "" {
		if err := d.SetUserEmail(ctx, u.ID, *email); err != nil {
			return err
		}
	}
	logger.Info("user created", "username", u.Username, "role", u.Role, "teams", teamNames)
	return nil
}

// readPassword reads one line; on a terminal it asks for it without echo.
func readPassword(in *os.File, prompt io.Writer) (string, error) {
	if term.IsTerminal(int(in.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(prompt)
		return string(b), err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("give the password on standard input, e.g. `printf '%s\\n' \"$PASSWORD\" | kamflow user add …`")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// addUser creates a user with a hashed password in the named teams, creating missing teams.
func addUser(ctx context.Context, d *db.DB, username, name string, role kamflow.UserRole, teamNames []string, password string) (*kamflow.User, error) {
	teams, err := d.Teams(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var ids []string
	for _, tn := range teamNames {
		var id string
		for _, t := range teams {
			if strings.EqualFold(t.Name, tn) {
				id = t.ID
			}
		}
		if id == "" {
			t := &kamflow.Team{ID: uuid.NewString(), Name: tn, CreatedAt: now}
			if err := d.CreateTeam(ctx, t); err != nil {
				return nil, err
			}
			teams, id = append(teams, t), t.ID
		}
		ids = append(ids, id)
	}
	hash, err := api.HashPassword(password)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	u := &kamflow.User{ID: uuid.NewString(), Username: username, Name: name, Role: role, Teams: ids,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := d.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// demoUsers are the people of `kamflow dev`: a director leading team East with KAMs kam1 and kam2
// and engineer1, kam3 in team North, and an admin. Never created outside dev mode.
var demoUsers = []struct {
	username, name string
	role           kamflow.UserRole
	teams          []string
}{
	{"admin", "Administrator", kamflow.UserAdmin, nil},
	{"director", "王总 Director Wang", kamflow.UserDirector, []string{"East China Sales"}},
	{"kam1", "李经理 Li (KAM)", kamflow.UserKAM, []string{"East China Sales"}},
	{"kam2", "张经理 Zhang (KAM)", kamflow.UserKAM, []string{"East China Sales"}},
	{"kam3", "赵经理 Zhao (KAM)", kamflow.UserKAM, []string{"North China Sales"}},
	{"engineer1", "陈工 Chen (Engineer)", kamflow.UserEngineer, []string{"East China Sales"}},
}

// ensureDemoUsers creates the demo users that do not exist yet, with the demo password.
func ensureDemoUsers(ctx context.Context, logger *slog.Logger, d *db.DB, password string) error {
	for _, du := range demoUsers {
		_, err := d.UserByUsername(ctx, du.username)
		if err == nil {
			continue
		}
		if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			return err
		}
		if _, err := addUser(ctx, d, du.username, du.name, du.role, du.teams, password); err != nil {
			return fmt.Errorf("demo user %s: %w", du.username, err)
		}
	}
	logger.Info("dev mode demo users: admin, director, kam1, kam2 (East China Sales, with director and engineer1), kam3 (North China Sales), engineer1",
		"password", password)
	return nil
}
