package ui

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kamflow/kamflow"
)

// The notices' texts in the reader's language, from the UI's own dictionaries (static/i18n), for
// what kamflow tells outside the browser (the e-mails). The web UI fills the same
// "notice.kind.<kind>" texts from the same params in the same way (see kamflow's inbox.go).

var (
	dictOnce sync.Once
	dicts    map[string]map[string]string // by language
)

// dict is the dictionary of lang (kamflow.LangEnglish or kamflow.LangChinese).
func dict(lang string) map[string]string {
	dictOnce.Do(func() {
		dicts = map[string]map[string]string{}
		for _, l := range kamflow.Languages {
			b, err := static.ReadFile("static/i18n/" + l + ".json")
			if err != nil {
				panic("ui: reading the embedded dictionary " + l + ": " + err.Error()) // compiled in
			}
			d := map[string]string{}
			if err := json.Unmarshal(b, &d); err != nil {
				panic("ui: the embedded dictionary " + l + " is not a JSON object of strings: " + err.Error())
			}
			dicts[l] = d
		}
	})
	return dicts[lang]
}

// noticeLang is the dictionary's language of a user's language: English unless it reads as
// Chinese (kamflow.ParseLanguage).
func noticeLang(lang string) string {
	if l, err := kamflow.ParseLanguage(lang); err == nil && l != "" {
		return l
	}
	return kamflow.LangEnglish
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// NoticeText is the notification's text in the language lang (a User.Language: en, zh-CN; any
// other, or none, is English): its kind's "notice.kind.<kind>" text with its params filled in, each
// shown as its name says (kamflow.NoticeParam*): a stage by its name, an SLA or a time stalled in
// words ("5 天"), a person by nameOf(username) (nil, or an empty answer: the username), a task by
// the title the plan gave it or its name, a step, an approval's subject and a decision by their
// names, a count of deals as "3 deals". It is n.Message (the English text) for a kind the
// dictionaries do not know, and for a notice lacking a param its text needs (one stored before its
// kind carried params).
func NoticeText(lang string, n kamflow.Notification, nameOf func(username string) string) string {
	lang = noticeLang(lang)
	d := dict(lang)
	tmpl, ok := d["notice.kind."+n.Kind]
	if !ok {
		return n.Message
	}
	out, missing := fill(lang, d, tmpl, n.Params, nameOf)
	if missing && n.Message != "" {
		return n.Message
	}
	return out
}

// fill fills the template's placeholders from params, each shown as its name says; missing
// reports a placeholder without its param (left empty).
func fill(lang string, d map[string]string, tmpl string, params map[string]string, nameOf func(string) string) (out string, missing bool) {
	out = placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := params[name]
		if !ok {
			missing = true
			return ""
		}
		return showParam(lang, d, name, v, params, nameOf)
	})
	return out, missing
}

// emailDetails are the lines under an e-mail's text, each written when the notice has the params
// it needs.
var emailDetails = []string{"notice.email.deal", "notice.email.stage", "notice.email.owner", "notice.email.stalled_since"}

// NoticeEmail is the e-mail of the notification n in the language lang (as NoticeText): the
// subject is "[kamflow] " and its text, the body its text and then its details, those of
// notice.email.* whose params n has (the deal's title and id, its stage and SLA, its owner, since
// when it is stalled).
func NoticeEmail(lang string, n kamflow.Notification, nameOf func(username string) string) (subject, body string) {
	text := NoticeText(lang, n, nameOf)
	lang = noticeLang(lang)
	d := dict(lang)
	var b strings.Builder
	b.WriteString(text + "\n")
	sep := "\n"
	for _, k := range emailDetails {
		line, missing := fill(lang, d, d[k], n.Params, nameOf)
		if missing || line == "" {
			continue
		}
		b.WriteString(sep + line + "\n")
		sep = ""
	}
	return "[kamflow] " + text, b.String()
}

// showParam shows the param name of value v in lang.
func showParam(lang string, d map[string]string, name, v string, params map[string]string, nameOf func(string) string) string {
	named := func(prefix string) string {
		if s, ok := d[prefix+v]; ok {
			return s
		}
		return v
	}
	switch name {
	case kamflow.NoticeParamStage:
		return named("stage.")
	case kamflow.NoticeParamSLA, kamflow.NoticeParamStalledFor:
		return durationWords(lang, d, v)
	case kamflow.NoticeParamOwner, kamflow.NoticeParamBy, "requested_by", "answered_by":
		if nameOf != nil && v != "" {
			if s := strings.TrimSpace(nameOf(v)); s != "" {
				return s
			}
		}
		return v
	case kamflow.NoticeParamTask:
		if t := strings.TrimSpace(params[kamflow.NoticeParamTaskTitle]); t != "" {
			return t
		}
		return named("task.")
	case kamflow.NoticeParamStep:
		return named("step.")
	case kamflow.NoticeParamSubject:
		return named("notice.subject.")
	case kamflow.NoticeParamDecision:
		return named("notice.decision.")
	case kamflow.NoticeParamDeals:
		n, err := strconv.Atoi(v)
		if err != nil {
			return v
		}
		return count(lang, d, "notice.deals", n)
	}
	return v
}

// count is the dictionary's key.one or key.other (the language's plural form: English has "one"
// for 1, Chinese none) with {n} the number, as the UI's tp writes it.
func count(lang string, d map[string]string, key string, n int) string {
	k := key + ".other"
	if lang == kamflow.LangEnglish && n == 1 {
		if _, ok := d[key+".one"]; ok {
			k = key + ".one"
		}
	}
	s, ok := d[k]
	if !ok {
		return strconv.Itoa(n)
	}
	return strings.ReplaceAll(s, "{n}", groupDigits(n))
}

// groupDigits writes n with a comma between thousands, as both languages' number format does.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// durationWords shows a duration as the API writes it ("5d", "36h", "1h30m", "2s") in words, as
// the UI's formatSLA does: whole days in days, anything else in hours, minutes and seconds (the
// dictionary's unit.* keys). Anything unreadable is shown as it is.
func durationWords(lang string, d map[string]string, v string) string {
	dur, err := kamflow.ParseDuration(v)
	td := time.Duration(dur)
	if err != nil || td <= 0 {
		return v
	}
	if td%kamflow.Day == 0 {
		return count(lang, d, "unit.days", int(td/kamflow.Day))
	}
	var parts []string
	if h := int(td / time.Hour); h > 0 {
		parts = append(parts, count(lang, d, "unit.hours", h))
	}
	if m := int(td % time.Hour / time.Minute); m > 0 {
		parts = append(parts, count(lang, d, "unit.minutes", m))
	}
	if s := int(td % time.Minute / time.Second); s > 0 {
		parts = append(parts, count(lang, d, "unit.seconds", s))
	}
	if len(parts) == 0 {
		return v
	}
	return strings.Join(parts, " ")
}
