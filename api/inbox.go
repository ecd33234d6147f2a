package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// The inbox (kamflow.InboxStore): the signed-in user's own notifications, whatever their role.

// inbox is the store of the notifications as the inbox reads them.
func (s *Server) inbox() (kamflow.InboxStore, error) {
	if in, ok := s.cfg.Notifications.(kamflow.InboxStore); ok {
		return in, nil
	}
	return nil, kamflow.Errorf(kamflow.EUNAVAILABLE, "the inbox is not available")
}

// inboxList is GET /notifications' answer: a page of notifications, the unread count, and the
// names of the people their params name (by username), to show them by name.
type inboxList struct {
	Items  []kamflow.Notification `json:"items"`
	Total  int                    `json:"total"`
	Unread int                    `json:"unread"`
	Limit  int                    `json:"limit"`
	Offset int                    `json:"offset"`
	People map[string]string      `json:"people"`
}

// personParams are the params that name a user by username.
var personParams = []string{kamflow.NoticeParamOwner, kamflow.NoticeParamBy}

func (s *Server) listNotifications(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	// The language of the texts: the page's (the UI's own switch), else the user's, else English.
	lang, err := kamflow.ParseLanguage(c.QueryParam("lang"))
	if err != nil {
		return kamflow.Errorf(kamflow.EINVALID, "lang must be en or zh-CN, not %q", c.QueryParam("lang")).WithDetail("field", "lang")
	}
	if lang == "" && current(c) != nil {
		lang = current(c).user.Language
	}
	f := kamflow.InboxFilter{UserID: s.actor(c).ID, Page: p}
	switch v := c.QueryParam("unread"); v {
	case "", "false":
	case "true":
		f.Unread = true
	default:
		return kamflow.Errorf(kamflow.EINVALID, "unread must be true or false, not %q", v).WithDetail("field", "unread")
	}
	store, err := s.inbox()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pg, err := store.Inbox(ctx, f)
	if err != nil {
		return err
	}
	out := inboxList{Items: pg.Items, Total: pg.Total, Unread: pg.Unread, Limit: p.Limit, Offset: p.Offset, People: map[string]string{}}
	if out.Items == nil {
		out.Items = []kamflow.Notification{}
	}
	for _, n := range out.Items {
		for _, k := range personParams {
			username := n.Params[k]
			if _, done := out.People[username]; username == "" || done {
				continue
			}
			u, err := s.cfg.Users.UserByUsername(ctx, username)
			switch {
			case kamflow.ErrorCode(err) == kamflow.ENOTFOUND:
				out.People[username] = username // a user since removed: by the name the notice knew
			case err != nil:
				return err
			case strings.TrimSpace(u.Name) != "":
				out.People[username] = u.Name
			default:
				out.People[username] = u.Username
			}
		}
	}
	if s.cfg.NoticeText != nil {
		nameOf := func(username string) string { return out.People[username] }
		for i := range out.Items {
			out.Items[i].Text = s.cfg.NoticeText(lang, out.Items[i], nameOf)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// notificationID reads the id of the path.
func notificationID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, kamflow.Errorf(kamflow.EINVALID, "a notification's id is a whole number from 1, not %q", c.Param("id")).WithDetail("field", "id")
	}
	return id, nil
}

func (s *Server) readNotification(c echo.Context) error {
	id, err := notificationID(c)
	if err != nil {
		return err
	}
	store, err := s.inbox()
	if err != nil {
		return err
	}
	n, err := store.MarkNotificationRead(c.Request().Context(), s.actor(c).ID, id, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}

// readAll is POST /notifications/read-all's body: up_to, when given, is the newest notification
// the user saw, so that one that arrived since stays unread.
type readAll struct {
	UpTo *int64 `json:"up_to"`
}

func (s *Server) readAllNotifications(c echo.Context) error {
	var in readAll
	if err := bind(c, &in); err != nil { // an empty body is {}
		return err
	}
	var upTo int64
	if in.UpTo != nil {
		if *in.UpTo < 1 {
			return kamflow.Errorf(kamflow.EINVALID, "up_to must be a notification's id, a whole number from 1").WithDetail("field", "up_to")
		}
		upTo = *in.UpTo
	}
	store, err := s.inbox()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	me := s.actor(c).ID
	n, err := store.MarkAllNotificationsRead(ctx, me, upTo, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	pg, err := store.Inbox(ctx, kamflow.InboxFilter{UserID: me, Unread: true, Page: kamflow.Page{Limit: 1}})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"marked": n, "unread": pg.Unread})
}
