package activities_test

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net/mail"
	"net/smtp"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/ui"
)

// people is a directory whose users have names and languages.
type people struct {
	*directory
	users map[string]*kamflow.User
}

func (p *people) UserByUsername(_ context.Context, username string) (*kamflow.User, error) {
	if u, ok := p.users[username]; ok {
		return u, nil
	}
	return nil, kamflow.Errorf(kamflow.ENOTFOUND, "no user %s", username)
}

// langMail is a message as the mailer sent it, decoded.
type langMail struct {
	to            []string
	subject, body string
	id            string
}

func decodeMail(t *testing.T, to []string, msg []byte) langMail {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(m.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return langMail{to: to, subject: subject, body: string(body), id: m.Header.Get("Message-ID")}
}

// TestSendEmailInTheRecipientsLanguage: with the UI's writer wired, a zh-CN director reads the
// escalation in Chinese — the stage by its name, the SLA and the time stalled in days, the owner
// by name — and an English one (or one who chose no language) in English, each in a message of
// their own.
func TestSendEmailInTheRecipientsLanguage(t *testing.T) {
	dir := &people{
		directory: &directory{emails: map[string]string{"dir-a": "a@example.com", "dir-b": "b@example.com", "dir-c": "c@example.com"}},
		users: map[string]*kamflow.User{
			"dir-a": {Username: "dir-a", Name: "王总", Language: kamflow.LangChinese},
			"dir-b": {Username: "dir-b", Name: "Director Brown", Language: kamflow.LangEnglish},
			"dir-c": {Username: "dir-c", Name: "Chen"}, // no language chosen: English
			"kam1":  {Username: "kam1", Name: "李明"},
		},
	}
	var sent []langMail
	a := &activities.Activities{Notifications: dir, Now: func() time.Time { return at }, NoticeEmail: ui.NoticeEmail,
		Mail: &activities.Mailer{Addr: "smtp.example.com:25", From: "kamflow@example.com",
			Send: func(_ string, _ smtp.Auth, _ string, to []string, msg []byte) error {
				sent = append(sent, decodeMail(t, to, msg))
				return nil
			}}}
	if _, err := activityEnv(t, a).ExecuteActivity(a.SendEmail, notice()); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want one in English and one in Chinese: %+v", len(sent), sent)
	}
	en, zh := sent[0], sent[1]
	if !slices.Equal(en.to, []string{"b@example.com", "c@example.com"}) || en.id != "<escalated.d1.7@kamflow>" {
		t.Errorf("English message to %v, id %s", en.to, en.id)
	}
	if !slices.Equal(zh.to, []string{"a@example.com"}) || zh.id != "<escalated.d1.7.zh-CN@kamflow>" {
		t.Errorf("Chinese message to %v, id %s", zh.to, zh.id)
	}
	t.Logf("Chinese e-mail:\n%s\n\n%s", zh.subject, zh.body)
	wantZh := "[kamflow] 商机“宝钢冷轧线 DCS 改造”（负责人 李明）在投标阶段已 42 天无进展，超过 SLA（21 天）"
	if zh.subject != wantZh {
		t.Errorf("Chinese subject %q, want %q", zh.subject, wantZh)
	}
	for _, want := range []string{"商机：宝钢冷轧线 DCS 改造（d1）", "阶段：投标阶段，SLA 21 天", "负责人：李明", "停滞起始：2026-"} {
		if !strings.Contains(zh.body, want) {
			t.Errorf("Chinese body lacks %q:\n%s", want, zh.body)
		}
	}
	if regexp.MustCompile(`\b(bid|42d|21d|kam1)\b|has made|Owner`).MatchString(zh.subject + zh.body) {
		t.Errorf("Chinese e-mail has English or codes:\n%s\n%s", zh.subject, zh.body)
	}
	if en.subject != "[kamflow] 宝钢冷轧线 DCS 改造 (owner 李明) has made no progress in the Bid stage for 42 days, past its SLA of 21 days" ||
		!strings.Contains(en.body, "Stage: Bid, SLA 21 days") || !strings.Contains(en.body, "Owner: 李明") {
		t.Errorf("English e-mail:\n%s\n%s", en.subject, en.body)
	}
}
