package evaluate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// Sources of the synthesised indirect-injection samples, and the split
// key of the BIPIA payloads.
const (
	SourceBIPIAEmail    = "bipia-email"    // clean BIPIA emails: negatives
	SourceBIPIAIndirect = "bipia-indirect" // a BIPIA payload inside an email: positives
	SourceBIPIAPayload  = "bipia-payload"  // split key of a payload; no sample has it
)

// InjectionSamples loads the prompt-injection corpus from
// corpora/prompt_injection (see its PROVENANCE.md), in a fixed order:
//
//   - every row of pi_eval_combined.jsonl: Source its source, Group its
//     category, Positive when label is 1, HardNegative for the NotInject
//     rows (category "hard_negative/..." or a source naming NotInject);
//   - each BIPIA email as it is (Source "bipia-email", negative);
//   - each BIPIA text and code payload inside an email at the start, the
//     middle and the end of its content, a different email for each
//     (Source "bipia-indirect", positive, Group "text|code/<category>/<place>").
//
// Split: a sample holding an email or a payload is in the test part when
// that email (SplitOf("bipia-email", email)) or that payload
// (SplitOf("bipia-payload", payload)) is, so no email or payload of the
// test part reaches training, also through the InjecGuard rows that are
// BIPIA payloads; any other sample is placed by SplitOf(source, text).
func InjectionSamples(corpora string) ([]Sample, error) {
	dir := filepath.Join(corpora, "prompt_injection")
	payloads, err := bipiaPayloads(dir)
	if err != nil {
		return nil, err
	}
	isPayload := make(map[string]bool, len(payloads))
	for _, p := range payloads {
		isPayload[p.text] = true
	}
	out, err := injectionRows(filepath.Join(dir, "pi_eval_combined.jsonl"), isPayload)
	if err != nil {
		return nil, err
	}
	emails, err := bipiaEmails(filepath.Join(dir, "bipia_email_context_test.jsonl"))
	if err != nil {
		return nil, err
	}
	for _, e := range emails {
		out = append(out, Sample{Source: SourceBIPIAEmail, Group: "email", Text: e, Split: SplitOf(SourceBIPIAEmail, e)})
	}
	places := [...]string{"start", "middle", "end"}
	for i, p := range payloads {
		for k, place := range places {
			// Spread the payloads over the emails: consecutive payloads
			// and places land in different emails.
			e := emails[(i*len(places)+k)*7%len(emails)]
			split := Train
			if SplitOf(SourceBIPIAEmail, e) == Test || SplitOf(SourceBIPIAPayload, p.text) == Test {
				split = Test
			}
			out = append(out, Sample{
				Source: SourceBIPIAIndirect, Group: p.group + "/" + place,
				Text: embedPayload(e, p.text, k), Positive: true, Split: split,
			})
		}
	}
	return out, nil
}

func injectionRows(path string, isPayload map[string]bool) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("injection corpus: %w", err)
	}
	defer f.Close()
	var out []Sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var row struct {
			Label    *int   `json:"label"`
			Source   string `json:"source"`
			Category string `json:"category"`
			Text     string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("injection corpus: %s:%d: %w", filepath.Base(path), line, err)
		}
		if row.Label == nil || *row.Label < 0 || *row.Label > 1 || row.Source == "" {
			return nil, fmt.Errorf("injection corpus: %s:%d: want label 0 or 1 and a source", filepath.Base(path), line)
		}
		s := Sample{
			Source: row.Source, Group: row.Category, Text: row.Text, Positive: *row.Label == 1,
			HardNegative: *row.Label == 0 && (strings.HasPrefix(row.Category, "hard_negative") ||
				strings.Contains(strings.ToLower(row.Source), "notinject")),
			Split: SplitOf(row.Source, row.Text),
		}
		if isPayload[row.Text] && SplitOf(SourceBIPIAPayload, row.Text) == Test {
			s.Split = Test
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("injection corpus: %s: %w", filepath.Base(path), err)
	}
	return out, nil
}

type bipiaPayload struct{ group, text string }

// bipiaPayloads reads the text and code payloads, categories sorted by
// name, payloads in file order.
func bipiaPayloads(dir string) ([]bipiaPayload, error) {
	var out []bipiaPayload
	for _, kind := range [...]string{"text", "code"} {
		raw, err := os.ReadFile(filepath.Join(dir, "bipia_"+kind+"_attack_test.json"))
		if err != nil {
			return nil, fmt.Errorf("injection corpus: %w", err)
		}
		var byCategory map[string][]string
		if err := json.Unmarshal(raw, &byCategory); err != nil {
			return nil, fmt.Errorf("injection corpus: bipia %s payloads: %w", kind, err)
		}
		cats := make([]string, 0, len(byCategory))
		for c := range byCategory {
			cats = append(cats, c)
		}
		sort.Strings(cats)
		for _, c := range cats {
			for _, p := range byCategory[c] {
				out = append(out, bipiaPayload{group: kind + "/" + c, text: p})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("injection corpus: no BIPIA payloads")
	}
	return out, nil
}

func bipiaEmails(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("injection corpus: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var row struct {
			Context string `json:"context"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("injection corpus: %s:%d: %w", filepath.Base(path), line, err)
		}
		out = append(out, row.Context)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("injection corpus: %s: %w", filepath.Base(path), err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("injection corpus: no BIPIA emails")
	}
	return out, nil
}

// embedPayload puts payload into the content of a BIPIA email (the part
// after "CONTENT:", or all of it): at its start (place 0), at the
// paragraph or sentence break nearest its middle (1), or at its end (2).
func embedPayload(email, payload string, place int) string {
	head, body := "", email
	if i := strings.Index(email, "CONTENT:"); i >= 0 {
		head, body = email[:i+len("CONTENT:")], email[i+len("CONTENT:"):]
	}
	switch place {
	case 0:
		return head + " " + payload + "\n" + body
	case 2:
		return head + body + "\n" + payload
	}
	mid := len(body) / 2
	cut := len(body)
	for _, sep := range [...]string{"\n", ". "} {
		for j := 0; j < len(body); j++ {
			if strings.HasPrefix(body[j:], sep) && bipiaDistance(j, mid) < bipiaDistance(cut, mid) {
				cut = j + len(sep)
			}
		}
		if cut < len(body) {
			break
		}
	}
	return head + body[:cut] + "\n" + payload + "\n" + body[cut:]
}

func bipiaDistance(a, b int) int {
	if a < b {
		return b - a
	}
	return a - b
}

// Sources of InjectionBenign.
const (
	SourceCyberSecEvalSystem = "cyberseceval-system"    // the system prompts of CyberSecEval's test cases
	SourceMCPDescription     = "mcp-schema-description" // descriptions in the MCP JSON schemas
	SourceAgentPrompts       = "llm-sdk-prompts"        // prompts the OpenAI and Anthropic SDKs' recorded tests send
)

// InjectionBenign loads benign texts that pi_eval_combined.jsonl lacks
// and a detector meets in every request: system prompts that give the
// model rules and secrets to keep (CyberSecEval's test_case_prompt, an
// instruction-heavy hard negative) and protocol documentation prose
// (the descriptions in corpora/mcp/schema/*/schema.json, as a tool
// description reads). All negative, deduplicated, in a fixed order;
// Split is SplitOf(source, text). The trainer learns from their
// training part and the tests report false positives on their test
// part apart from InjectionSamples.
func InjectionBenign(corpora string) ([]Sample, error) {
	var out []Sample
	seen := map[string]bool{}
	add := func(source, group, text string) {
		if strings.TrimSpace(text) == "" || seen[text] {
			return
		}
		seen[text] = true
		out = append(out, Sample{Source: source, Group: group, Text: text, Split: SplitOf(source, text)})
	}
	raw, err := os.ReadFile(filepath.Join(corpora, "prompt_injection", "cyberseceval_prompt_injection.json"))
	if err != nil {
		return nil, fmt.Errorf("injection corpus: %w", err)
	}
	var cases []struct {
		Prompt  string `json:"test_case_prompt"`
		Variant string `json:"injection_variant"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		return nil, fmt.Errorf("injection corpus: cyberseceval: %w", err)
	}
	for _, c := range cases {
		add(SourceCyberSecEvalSystem, "system_prompt", c.Prompt)
	}
	schemas, err := filepath.Glob(filepath.Join(corpora, "mcp", "schema", "*", "schema.json"))
	if err != nil || len(schemas) == 0 {
		return nil, fmt.Errorf("injection corpus: no MCP schemas under %s", filepath.Join(corpora, "mcp", "schema"))
	}
	sort.Strings(schemas)
	for _, path := range schemas {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("injection corpus: %w", err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("injection corpus: %s: %w", path, err)
		}
		group := filepath.Base(filepath.Dir(path))
		schemaDescriptions(doc, func(d string) { add(SourceMCPDescription, group, d) })
	}
	// Real agent traffic: the prompts of the recorded SDK exchanges, short
	// imperative requests ("Answer in up to 5 words: …") that chat-style
	// benign data lacks.
	tr, err := os.Open(filepath.Join(corpora, "llm_payloads", "transcripts.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("injection corpus: %w", err)
	}
	defer tr.Close()
	sc := bufio.NewScanner(tr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		body := gjson.GetBytes(sc.Bytes(), "request_body")
		for _, member := range []string{"system", "instructions", "messages", "input", "prompt"} {
			promptTexts(body.Get(member), func(t string) { add(SourceAgentPrompts, member, t) })
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("injection corpus: transcripts: %w", err)
	}
	return out, nil
}

// promptTexts calls fn with the free-text strings of a request member,
// skipping what names rather than says (types, roles, ids, models).
func promptTexts(v gjson.Result, fn func(string)) {
	switch {
	case v.Type == gjson.String:
		fn(v.Str)
	case v.IsArray() || v.IsObject():
		v.ForEach(func(k, e gjson.Result) bool {
			switch k.Str {
			case "type", "role", "id", "model", "tool_use_id", "call_id", "name", "image_url", "url", "data", "file_id", "media_type":
			default:
				promptTexts(e, fn)
			}
			return true
		})
	}
}

// schemaDescriptions calls fn with every "description" string in a JSON
// document, objects' keys visited in sorted order.
func schemaDescriptions(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := v[k].(string); ok && k == "description" {
				fn(s)
				continue
			}
			schemaDescriptions(v[k], fn)
		}
	case []any:
		for _, x := range v {
			schemaDescriptions(x, fn)
		}
	}
}
