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
func (a *Activities) SendEmail(ctx context.Context, n Notice) error {
	m := a.Mail
	dir := a.directory()
	if m == nil || m.Addr == "" || dir == nil || len(n.Recipients) == 0 {
		return nil
	}
	emails, err := dir.UserEmails(ctx, n.Recipients)
	if err != nil {
		return fmt.Errorf("e-mail: addresses of %v: %w", n.Recipients, err)
	}
	var to []string
	for _, u := range n.Recipients {
		if e := emails[u]; e != "" && !slices.Contains(to, e) {
			to = append(to, e)
		}
	}
	if len(to) == 0 {
		return nil
	}
	send := m.Send
	if send == nil {
		send = smtp.SendMail
	}
	if err := send(m.Addr, m.Auth, m.From, to, composeEmail(m.From, to, n, a.now())); err != nil {
		return fmt.Errorf("e-mail: send notice %s to %d recipient(s): %w", n.ID, len(to), err)
	}
	return nil
}

// composeEmail writes the notice as a plain-text UTF-8 message (base64, so that Chinese text and
// long lines travel intact).
func composeEmail(from string, to []string, n Notice, now time.Time) []byte {
	oneLine := strings.NewReplacer("\r", " ", "\n", " ")
	subject := fmt.Sprintf("[kamflow] %s: stalled in %s", n.Title, n.Stage)
	if n.Event == EventEscalated {
		subject = fmt.Sprintf("[kamflow] %s: escalated to the director, stalled in %s", n.Title, n.Stage)
	}
	var body strings.Builder
	body.WriteString(n.Message + "\r\n\r\n")
	fmt.Fprintf(&body, "Deal:    %s (%s)\r\n", n.Title, n.DealID)
	fmt.Fprintf(&body, "Stage:   %s, SLA %s\r\n", n.Stage, n.SLA)
	fmt.Fprintf(&body, "Owner:   %s\r\n", n.Owner)
	if n.StalledSince != nil {
		fmt.Fprintf(&body, "Stalled: since %s\r\n", n.StalledSince.UTC().Format(time.RFC3339))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", oneLine.Replace(subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@kamflow>\r\n", strings.NewReplacer(":", ".", " ", "", "<", "", ">", "", "@", ".").Replace(n.ID))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body.String()))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}
