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
func (a *Activities) SendEmail(ctx context.Context, n Notice) error {
	subject, body := noticeEmail(n)
	sent, err := a.mail(ctx, n.Recipients, subject, body, n.ID)
	if err != nil {
		a.Metrics.NoticeDelivery(ChannelEmail, false)
		return fmt.Errorf("e-mail: send notice %s: %w", n.ID, err)
	}
	if sent {
		a.Metrics.NoticeDelivery(ChannelEmail, true)
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
