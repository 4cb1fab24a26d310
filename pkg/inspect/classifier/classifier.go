// Package classifier is a detector that asks an external classifier
// service (a prompt-injection model the platform team runs) to judge
// texts. The protocol is one POST per message:
//
//	request:  {"texts": [{"field": "messages.0.content", "text": "…"}, …]}
//	response: {"results": [{"score": 0.97}, …]}   // one per text, in order
//
// A score at or above the threshold is a finding. The service sees the
// texts — that is its job — but agentguard never logs them, and the error
// of a failed call names the status or the transport failure, never the
// body it sent.
package classifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentguard/agentguard/pkg/inspect"
)

// maxResponseBytes bounds what agentguard reads of an answer.
const maxResponseBytes = 1 << 20

// Options configure a Detector.
type Options struct {
	URL       string
	Timeout   time.Duration
	Threshold float64
	Client    *http.Client // nil: a client of its own
}

// Detector implements inspect.Detector over the service.
type Detector struct {
	o Options
}

var _ inspect.Detector = (*Detector)(nil)

// New returns a Detector for o.
func New(o Options) (*Detector, error) {
	if o.URL == "" || o.Timeout <= 0 || o.Threshold <= 0 || o.Threshold >= 1 {
		return nil, errors.New("classifier: url, a positive timeout and a threshold in (0,1) are required")
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &Detector{o: o}, nil
}

// Name is the detector's name in findings and config.
func (*Detector) Name() string { return "classifier" }

type item struct {
	Field string `json:"field"`
	Text  string `json:"text"`
}

type result struct {
	Score *float64 `json:"score"`
}

// Scan sends texts in one call and reports each whose score reaches the
// threshold, as a finding spanning the whole text.
func (d *Detector) Scan(ctx context.Context, texts []inspect.Text, emit func(inspect.Finding)) error {
	if len(texts) == 0 {
		return nil
	}
	items := make([]item, len(texts))
	for i, t := range texts {
		items[i] = item{Field: t.Field, Text: t.Value}
	}
	body, err := json.Marshal(map[string]any{"texts": items})
	if err != nil {
		return fmt.Errorf("classifier: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.o.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.o.Client.Do(req)
	if err != nil {
		// The url.Error names the URL and the cause, never the body.
		return fmt.Errorf("classifier: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		return fmt.Errorf("classifier: status %d", resp.StatusCode)
	}
	var out struct {
		Results []result `json:"results"`
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes))
	if err := dec.Decode(&out); err != nil {
		return fmt.Errorf("classifier: decode answer: %w", err)
	}
	if len(out.Results) != len(texts) {
		return fmt.Errorf("classifier: %d results for %d texts", len(out.Results), len(texts))
	}
	for i, r := range out.Results {
		if r.Score == nil || *r.Score < 0 || *r.Score > 1 {
			return fmt.Errorf("classifier: result %d has no score in [0,1]", i)
		}
		if *r.Score >= d.o.Threshold {
			emit(inspect.Finding{Rule: "classifier", Severity: inspect.High, Text: i,
				Start: 0, End: len(texts[i].Value), Score: *r.Score})
		}
	}
	return nil
}
