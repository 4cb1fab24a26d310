package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/agentguard/agentguard/e2e/stack"
)

// A GitHub-style webhook delivery through the orchestrator listener: signed
// with the shared secret it reaches the orchestrator; with a wrong or
// missing signature agentguard answers 401 and the orchestrator never sees
// it.
func TestWebhookSignatureThroughTheChain(t *testing.T) {
	const secret = "e2e-webhook-secret"
	t.Setenv("GITHUB_WEBHOOK_SECRET", secret)
	var mu sync.Mutex
	var seen []string
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	s := stack.Start(t, stack.Options{Clusters: map[string]string{"orchestrator": lis.Addr().String()}})

	body := `{"action":"opened","pull_request":{"number":42}}`
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	send := func(sig string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL(stack.Orchestrator)+"/webhook/github", strings.NewReader(body))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("x-github-event", "pull_request")
		req.Header.Set("x-github-delivery", "d-1")
		if sig != "" {
			req.Header.Set("x-hub-signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := send(good); code != http.StatusAccepted {
		t.Fatalf("signed delivery: %d %s", code, b)
	}
	for _, bad := range []string{"", "sha256=" + strings.Repeat("0", 64), "sha1=abc", good + "00"} {
		code, b := send(bad)
		if code != http.StatusUnauthorized || !strings.Contains(b, "builtin:bad-signature") {
			t.Errorf("signature %q: %d %s", bad, code, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !strings.Contains(seen[0], `"number":42`) {
		t.Errorf("orchestrator saw %q; want exactly the signed delivery", seen)
	}
	if strings.Contains(s.Audit(), secret) || strings.Contains(s.Logs(), secret) {
		t.Error("webhook secret in the audit log or logs")
	}
}
