package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/agentguard/agentguard/pkg/config"
	"github.com/agentguard/agentguard/pkg/credentials"
	"github.com/agentguard/agentguard/pkg/inspect"
	"github.com/agentguard/agentguard/pkg/policy"
	"github.com/agentguard/agentguard/pkg/protocol/jsonscan"
)

// webhookHandler governs an orchestrator that receives webhooks: a delivery
// to one of its paths must be signed with the shared secret (HMAC-SHA256 of
// the exact body, GitHub's X-Hub-Signature-256); anything else is governed
// like plain HTTP. Rules see `webhook.verified`, `.event`, `.delivery`.
type webhookHandler struct {
	httpHandler
	cfg    *config.Webhook
	secret credentials.Source
}

func newWebhookHandler(p *config.Profile) *webhookHandler {
	return &webhookHandler{cfg: p.Webhook, secret: p.Webhook.Secret.Source()}
}

// isDelivery matches whole path segments: /webhook covers /webhook and
// /webhook/github, not /webhookz.
// Matching is on the path as servers may read it — percent-decoded, case
// folded, matrix parameters (";x=1") cut — so that no spelling of a webhook
// path reaches the orchestrator unsigned. A path that does not decode is
// treated as a delivery: it must then be signed.
func (h *webhookHandler) isDelivery(x *Exchange) bool {
	p, err := url.PathUnescape(pathOnly(x.req.Path))
	if err != nil {
		return true
	}
	p = strings.ToLower(p)
	if i := strings.IndexByte(p, ';'); i >= 0 {
		p = p[:i]
	}
	for _, pre := range h.cfg.Paths {
		pre = strings.ToLower(strings.TrimSuffix(pre, "/"))
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

func (h *webhookHandler) needsBody(x *Exchange) bool { return h.isDelivery(x) }

func (h *webhookHandler) decide(x *Exchange, body []byte) Result {
	in := x.input()
	if h.isDelivery(x) {
		if body == nil {
			return x.deny(denial{status: 400, kind: denyMalformed, rule: "builtin:malformed", message: "a webhook delivery needs a body"})
		}
		secret, err := h.secret.Credential()
		if err != nil {
			x.e.log.Error("webhook secret unavailable", "profile", x.profile.Name, "source", h.secret.Describe(), "err", err)
			return x.deny(denial{status: 500, kind: denyUnavailable, rule: "builtin:no-credential", message: "the webhook secret is not available"})
		}
		if !validSignature(secret.Reveal(), body, x.header.Get(h.cfg.SignatureHeader)) {
			return x.deny(denial{status: 401, kind: denyUnauthenticated, rule: "builtin:bad-signature",
				message: "webhook signature missing or invalid"})
		}
		in.Webhook = &policy.Webhook{Verified: true, Event: x.header.Get(h.cfg.EventHeader), Delivery: x.header.Get(h.cfg.DeliveryHeader)}
		sc := x.scan(dirRequest, webhookTexts(body))
		if d := firstOf(sc.failed, sc.deny); d != nil {
			return x.deny(*d)
		}
		x.insp.reqFindings = policyFindings(sc.findings, sc.actions)
		in.Findings = x.insp.reqFindings
	}
	d, err := x.decidePolicy(&in)
	if err != nil {
		return x.fail(err)
	}
	if !d.Allow {
		return x.deny(policyDenial(d))
	}
	if r := x.takeLimits(&in); r != nil {
		return *r
	}
	return x.allow(d, nil)
}

// validSignature checks "sha256=<hex>" against the body's HMAC, in constant
// time.
func validSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// webhookTexts are the strings of a delivery: every string of a JSON
// body (a pull request's title, body, diff hunks), or the body itself.
// Deliveries are only inspected, never rewritten: a changed body would
// fail the signature check of whoever receives it next.
func webhookTexts(body []byte) []inspect.Text {
	if jsonscan.CheckObject(body, webhookMaxDepth) == "" {
		var p jsonscan.Path
		return jsonTexts(nil, gjson.ParseBytes(body), &p, nil)
	}
	if !utf8.Valid(body) {
		return nil
	}
	return []inspect.Text{{Field: "", Value: string(body)}}
}

// webhookMaxDepth bounds the nesting of a delivery read for inspection.
const webhookMaxDepth = 64
