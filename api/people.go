package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// person is a user as other people see them: their display name, and the username kamflow
// records them by (on deals, in the audit trail), which the UI shows an admin only.
type person struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

func personOf(u *kamflow.User) person {
	name := u.Name
	if name == "" {
		name = u.Username
	}
	return person{Username: u.Username, Name: name}
}

func sortPeople(p []person) {
	slices.SortFunc(p, func(a, b person) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Username, b.Username)) })
}

// listPeople is the directory of display names: every user's, disabled ones too (they still
// appear in the deals' histories), for any signed-in user to show people by name.
func (s *Server) listPeople(c echo.Context) error {
	users, err := s.cfg.Users.Users(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]person, 0, len(users))
	for _, u := range users {
		out = append(out, personOf(u))
	}
	sortPeople(out)
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// The purposes of the deal's people picker: the command the chosen people go into.
var pickPurposes = map[string]kamflow.CommandKind{
	"owner":     kamflow.CmdReassign,
	"engineers": kamflow.CmdAssignEngineers,
}

// dealPeople lists the people the user may choose for a purpose on the deal: for owner, whom
// they may reassign it to; for engineers, whom they may assign to its delivery. Whoever may not
// give the purpose's command is refused as that command would be, so that the UI offers a
// picker exactly to those who may use it, with exactly the people they may pick.
func (s *Server) dealPeople(c echo.Context) error {
	d, err := s.visibleDeal(c)
	if err != nil {
		return err
	}
	purpose := c.QueryParam("purpose")
	kind, ok := pickPurposes[purpose]
	if !ok {
		return kamflow.Errorf(kamflow.EINVALID, "purpose must be owner or engineers").WithDetail("field", "purpose")
	}
	me := s.actor(c)
	if err := me.Authorize(kamflow.Command{Kind: kind, Actor: me}, d); err != nil {
		return err
	}
	users, err := s.cfg.Users.Users(c.Request().Context())
	if err != nil {
		return err
	}
	out := []person{}
	for _, u := range users {
		switch kind {
		case kamflow.CmdReassign:
			// The deal's own rules have the last word (not its owner already).
			cmd := kamflow.Command{Kind: kind, Actor: me, Reassign: &kamflow.ReassignInput{Owner: u.Username}}
			if !d.MayOwn(u) || d.CheckRules(cmd, s.cfg.Now(), kamflow.DefaultSettings()) != nil {
				continue
			}
		case kamflow.CmdAssignEngineers:
			if !d.MayDeliver(u) {
				continue
			}
		}
		out = append(out, personOf(u))
	}
	sortPeople(out)
	return c.JSON(http.StatusOK, map[string]any{"purpose": purpose, "items": out})
}

// names are display names by username.
type names map[string]string

// of is the person's display name; their username when kamflow knows no one by it.
func (n names) of(username string) string {
	if v := n[username]; v != "" {
		return v
	}
	return username
}

// displayNames looks up the display names of the usernames ("" left out).
func (s *Server) displayNames(ctx context.Context, usernames []string) (names, error) {
	out := names{}
	for _, u := range usernames {
		if _, done := out[u]; done || u == "" {
			continue
		}
		user, err := s.cfg.Users.UserByUsername(ctx, u)
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
			out[u] = u
			continue
		} else if err != nil {
			return nil, err
		}
		out[u] = personOf(user).Name
	}
	return out, nil
}
