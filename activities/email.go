package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/smtp"
	"slices"
	"strings"
	"time"

	"github.com/kamflow/kamflow"
)

// Mailer sends the notices of the escalation ladder by e-mail over SMTP (net/smtp: STARTTLS when
// the server offers it). The recipients' addresses are the users' (kamflow.Directory.UserEmails);
// a recipient without one is skipped.
type Mailer struct {
	Addr string    // the SMTP server, host:port
	From string    // the envelope and header sender, a bare address
	Auth smtp.Auth // nil: no authentication
	// Send sends one message; nil is smtp.SendMail. Tests replace it.
	Send func(addr string, a smtp.Auth, from string, to []string, msg []byte) error
}

// SendEmail e-mails the notice to its recipients that have an address. Without a mailer, a
// directory or any address it does nothing. A failure fails the attempt: the workflow retries it
// until the server takes the message. The message's Message-ID is the notice's, so that a retry
// after a lost answer is recognisable as the same message.
//
// Each attempt that sent or failed is counted (kamflow_notices_delivered_total,
// kamflow_notice_delivery_failures_total); one that had no one to send to is not.
//
// With a NoticeEmail writer each recipient reads the e-mail in their language (User.Language):
// one message per language, the English one (and one to recipients of no known language) with the
// notice's Message-ID, the others with the language added to it.
func (a *Activities) SendEmail(ctx context.Context, n Notice) error {
	if m := a.Mail; m == nil || m.Addr == "" {
		return nil // nothing to send with: not even the recipients' languages are looked up
	}
	groups, err := a.byLanguage(ctx, n.Recipients)
	if err != nil {
		return fmt.Errorf("e-mail: notice %s: %w", n.ID, err)
	}
	anySent := false
	for _, g := range groups {
		subject, body := noticeEmail(n)
		id := n.ID
		if a.NoticeEmail != nil {
			subject, body = a.NoticeEmail(g.lang, emailNotification(n), a.nameOf(ctx))
			if g.lang != kamflow.LangEnglish {
				id += ":" + g.lang
			}
		}
		sent, err := a.mail(ctx, g.usernames, subject, body, id)
		if err != nil {
			a.Metrics.NoticeDelivery(ChannelEmail, false)
			return fmt.Errorf("e-mail: send notice %s: %w", n.ID, err)
		}
		anySent = anySent || sent
	}
	if anySent {
		a.Metrics.NoticeDelivery(ChannelEmail, true)
	}
	return nil
}

// emailNotification is the notice as the notification its e-mail tells: its kind and params, and
// those of its details (the deal's id, its owner, since when it is stalled).
func emailNotification(n Notice) kamflow.Notification {
	params := n.NoticeParams()
	params["deal"] = n.DealID
	params[kamflow.NoticeParamOwner] = n.Owner
	if n.StalledSince != nil {
		params["stalled_since"] = n.StalledSince.UTC().Format(time.RFC3339)
	}
	return kamflow.Notification{DealID: n.DealID, Kind: n.NoticeKind(), Params: params, Message: n.Message, CreatedAt: n.At}
}

// languageGroup is the recipients (usernames) who read one language.
type languageGroup struct {
	lang      string
	usernames []string
}

// byLanguage groups the recipients by their language (English for those of none, or unknown),
// English first then in the order they come. Without a NoticeEmail writer or a user store they
// are all English.
func (a *Activities) byLanguage(ctx context.Context, usernames []string) ([]languageGroup, error) {
	users := a.users()
	var out []languageGroup
	for _, u := range usernames {
		lang := kamflow.LangEnglish
		if a.NoticeEmail != nil && users != nil {
			user, err := users.UserByUsername(ctx, u)
			switch {
			case kamflow.ErrorCode(err) == kamflow.ENOTFOUND:
			case err != nil:
				return nil, fmt.Errorf("the language of %s: %w", u, err)
			default:
				if l, err := kamflow.ParseLanguage(user.Language); err == nil && l != "" {
					lang = l
				}
			}
		}
		i := slices.IndexFunc(out, func(g languageGroup) bool { return g.lang == lang })
		if i < 0 {
			out = append(out, languageGroup{lang: lang})
			i = len(out) - 1
		}
		out[i].usernames = append(out[i].usernames, u)
	}
	slices.SortStableFunc(out, func(x, y languageGroup) int {
		switch {
		case x.lang == y.lang:
			return 0
		case x.lang == kamflow.LangEnglish:
			return -1
		case y.lang == kamflow.LangEnglish:
			return 1
		}
		return 0
	})
	return out, nil
}

// nameOf shows a user by name, else by username (also for one not found, or when the store
// fails: the e-mail still tells who).
func (a *Activities) nameOf(ctx context.Context) func(string) string {
	users := a.users()
	names := map[string]string{}
	return func(username string) string {
		if n, ok := names[username]; ok {
			return n
		}
		name := username
		if users != nil {
			if u, err := users.UserByUsername(ctx, username); err == nil && strings.TrimSpace(u.Name) != "" {
				name = u.Name
			}
		}
		names[username] = name
		return name
	}
}

func (a *Activities) users() UserFinder {
	for _, v := range []any{a.Users, a.Notifications, a.Directory} {
		if u, ok := v.(UserFinder); ok && u != nil {
			return u
		}
	}
	return nil
}

// mail e-mails a plain-text message to those of the users (by username) that have an address, with
// a Message-ID made from id, and reports whether it sent anything. Without a mailer, a directory
// or any address it sends nothing, and that is no failure.
func (a *Activities) mail(ctx context.Context, usernames []string, subject, body, id string) (sent bool, err error) {
	m := a.Mail
	dir := a.directory()
	if m == nil || m.Addr == "" || dir == nil || len(usernames) == 0 {
		return false, nil
	}
	emails, err := dir.UserEmails(ctx, usernames)
	if err != nil {
		return false, fmt.Errorf("addresses of %v: %w", usernames, err)
	}
	var to []string
	for _, u := range usernames {
		if e := emails[u]; e != "" && !slices.Contains(to, e) {
			to = append(to, e)
		}
	}
	if len(to) == 0 {
		return false, nil
	}
	send := m.Send
	if send == nil {
		send = smtp.SendMail
	}
	if err := send(m.Addr, m.Auth, m.From, to, composeEmail(m.From, to, subject, body, id, a.now())); err != nil {
		return false, fmt.Errorf("send to %d recipient(s): %w", len(to), err)
	}
	return true, nil
}

// noticeEmail is the subject and the body of a notice's e-mail.
func noticeEmail(n Notice) (subject, body string) {
	subject = fmt.Sprintf("[kamflow] %s: stalled in %s", n.Title, n.Stage)
	if n.Event == EventEscalated {
		subject = fmt.Sprintf("[kamflow] %s: escalated to the director, stalled in %s", n.Title, n.Stage)
	}
	var b strings.Builder
	b.WriteString(n.Message + "\n\n")
	fmt.Fprintf(&b, "Deal:    %s (%s)\n", n.Title, n.DealID)
	fmt.Fprintf(&b, "Stage:   %s, SLA %s\n", n.Stage, n.SLA)
	fmt.Fprintf(&b, "Owner:   %s\n", n.Owner)
	if n.StalledSince != nil {
		fmt.Fprintf(&b, "Stalled: since %s\n", n.StalledSince.UTC().Format(time.RFC3339))
	}
	return subject, b.String()
}

// composeEmail writes a plain-text UTF-8 message (base64, so that Chinese text and long lines
// travel intact; the body's line ends become CRLF, as MIME wants them). Its Message-ID is made
// from id.
func composeEmail(from string, to []string, subject, body, id string, now time.Time) []byte {
	oneLine := strings.NewReplacer("\r", " ", "\n", " ")
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", oneLine.Replace(subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@kamflow>\r\n", strings.NewReplacer(":", ".", " ", "", "<", "", ">", "", "@", ".").Replace(id))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}
