package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook is the outgoing webhook of the escalation ladder: each notice is POSTed to URL as JSON
// (a Notice), signed with Secret.
//
// The request carries:
//
//	Content-Type:        application/json
//	X-Kamflow-Event:     the notice's event (deal.stalled, deal.escalated)
//	X-Kamflow-Delivery:  the notice's id, the same on every retry: drop repeats by it
//	X-Kamflow-Timestamp: the Unix time (seconds) of the attempt
//	X-Kamflow-Signature: "v1=" + hex(HMAC-SHA256(Secret, timestamp + "." + body))
//
// A receiver recomputes the signature over the timestamp header and the raw body, compares it in
// constant time (VerifySignature does all of this) and refuses a timestamp too far from its clock,
// so that a captured request cannot be replayed later. Any answer but 2xx, and any network error,
// fails the attempt: the workflow retries it, with backoff, until it is delivered.
type Webhook struct {
	URL    string
	Secret string
	// Client sends the requests; nil is a client with a 10-second timeout.
	Client *http.Client
}

// The webhook's headers.
const (
	HeaderEvent     = "X-Kamflow-Event"
	HeaderDelivery  = "X-Kamflow-Delivery"
	HeaderTimestamp = "X-Kamflow-Timestamp"
	HeaderSignature = "X-Kamflow-Signature"
)

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Sign returns the X-Kamflow-Signature of body sent at Unix time ts with secret.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by VerifySignature for a request that kamflow did not sign (with
// this secret) or that is too old.
var ErrBadSignature = errors.New("webhook: bad signature")

// VerifySignature checks a webhook request's timestamp and signature headers against its raw body:
// the signature must be the body's under secret, and the timestamp within tolerance of now.
func VerifySignature(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %s from now", ErrBadSignature, time.Unix(ts, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}

// SendWebhook POSTs the notice to the webhook, signed. Without a webhook it does nothing. It fails
// (and the workflow retries it) until the receiver answers 2xx. Each attempt is counted,
// delivered or failed (kamflow_notices_delivered_total, kamflow_notice_delivery_failures_total).
func (a *Activities) SendWebhook(ctx context.Context, n Notice) error {
	w := a.Webhook
	if w == nil || w.URL == "" {
		return nil
	}
	err := a.sendWebhook(ctx, w, n)
	a.Metrics.NoticeDelivery(ChannelWebhook, err == nil)
	return err
}

func (a *Activities) sendWebhook(ctx context.Context, w *Webhook, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("webhook: encode notice %s: %w", n.ID, err)
	}
	ts := a.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kamflow-webhook/1")
	req.Header.Set(HeaderEvent, n.Event)
	req.Header.Set(HeaderDelivery, n.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	c := w.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: deliver notice %s: %w", n.ID, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: deliver notice %s: %s answered %s: %s", n.ID, w.URL, resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}
