package main

import (
	"hash/fnv"
	"strings"

	"github.com/agentguard/agentguard/pkg/inspect/evaluate"
)

// foldOf places a text in one of k cross-validation folds by a hash of
// its key (see foldKey), so folds do not depend on the order of samples.
func foldOf(text string, k int) int {
	h := fnv.New64a()
	h.Write([]byte(foldKey(text)))
	return int(h.Sum64() % uint64(k))
}

// foldKey keeps the samples built on one BIPIA email in one fold, so
// cross-validation never scores an email it trained on.
func foldKey(text string) string {
	if strings.HasPrefix(text, "SUBJECT:") {
		if i := strings.Index(text, "CONTENT:"); i >= 0 {
			return text[:i]
		}
	}
	return text
}

// augment returns extra training samples built from the training part
// only, each in the fold of the samples it is built from (the folds of
// samples are folds), so cross-validation stays honest:
//
//   - negatives: each clean email with a line of another clean email put
//     at the start, the middle and the end of its content; without them
//     the model learns that an email with an inserted line is an attack,
//     whatever the line says;
//   - positives: each clean email with a short attack of another kind
//     (CyberSecEval, PINT, system-prompt extraction) at the same places,
//     so payload words are learnt in context, not only from the
//     hundred-odd BIPIA payloads;
//   - positives: each BIPIA payload of the training part (recovered from
//     the indirect samples) in mix more training emails;
//   - negatives: the first one to five words of benign texts;
//   - negatives: benign texts joined into documents of at least
//     docWords words. The benign corpora are short chat prompts and the
//     attacks are often long, so without these a model learns that long
//     prose is an attack, and flags benign documents and tool results.
func augment(samples []evaluate.Sample, folds []int, k, mix int) ([]evaluate.Sample, []int) {
	emails := make([][]string, k)
	attacks := make([][]string, k)
	benign := make([][]string, k)
	payloads := make([][]string, k)
	byHeader := map[string]string{}
	for _, s := range samples {
		if s.Split == evaluate.Train && s.Source == evaluate.SourceBIPIAEmail {
			byHeader[foldKey(s.Text)] = s.Text
		}
	}
	seen := map[string]bool{}
	for i, s := range samples {
		f := folds[i]
		switch {
		case s.Split != evaluate.Train:
		case s.Source == evaluate.SourceBIPIAIndirect:
			if p := payloadOf(s.Text, byHeader[foldKey(s.Text)]); p != "" && !seen[p] {
				seen[p] = true
				payloads[f] = append(payloads[f], p)
			}
		case s.Source == evaluate.SourceBIPIAEmail && !s.Positive:
			emails[f] = append(emails[f], s.Text)
		case s.Positive && s.Source != evaluate.SourceBIPIAIndirect && len(strings.Fields(s.Text)) <= 60:
			attacks[f] = append(attacks[f], s.Text)
		case !s.Positive:
			benign[f] = append(benign[f], s.Text)
		}
	}
	var out []evaluate.Sample
	var outFolds []int
	add := func(f int, s evaluate.Sample) {
		out = append(out, s)
		outFolds = append(outFolds, f)
	}
	for f := 0; f < k; f++ {
		for i, e := range emails[f] {
			line := longestLine(emails[f][(i+1)%len(emails[f])])
			for place := 0; place < 3; place++ {
				if line != "" && len(emails[f]) > 1 {
					add(f, evaluate.Sample{Source: sourceAugmented + "email+line", Text: insertLine(e, line, place)})
				}
				if as := attacks[f]; len(as) > 0 {
					a := as[((i*3+place)*11)%len(as)]
					add(f, evaluate.Sample{Source: sourceAugmented + "email+attack", Text: insertLine(e, a, place), Positive: true})
				}
			}
		}
		// Each payload of the fold in mix more emails of the fold.
		if es := emails[f]; len(es) > 0 {
			for pi, p := range payloads[f] {
				for m := 0; m < mix; m++ {
					e := es[((pi*mix+m)*7)%len(es)]
					add(f, evaluate.Sample{Source: sourceAugmented + "email+payload", Text: insertLine(e, p, (pi+m)%3), Positive: true})
				}
			}
		}
		// The first few words of benign texts: short messages ("hello",
		// "can you help") are benign, though many attacks start so.
		for i, t := range benign[f] {
			if ws := strings.Fields(t); len(ws) > 1 {
				add(f, evaluate.Sample{Source: sourceAugmented + "benign-start", Text: strings.Join(ws[:1+i%min(len(ws)-1, 5)], " ")})
			}
		}
		// Each benign text goes into docCopies documents, with different
		// neighbours each time (a stride through the fold's texts).
		bs := benign[f]
		for c := 0; c < docCopies && len(bs) > 0; c++ {
			var doc strings.Builder
			words := 0
			for j := range bs {
				t := bs[(j*(2*c+1))%len(bs)]
				if doc.Len() > 0 {
					doc.WriteString("\n\n")
				}
				doc.WriteString(t)
				if words += len(strings.Fields(t)); words >= docWords {
					add(f, evaluate.Sample{Source: sourceAugmented + "benign-doc", Text: doc.String()})
					doc.Reset()
					words = 0
				}
			}
		}
	}
	return out, outFolds
}

// payloadOf recovers the text put into email to make text: what is
// left between their common prefix and suffix.
func payloadOf(text, email string) string {
	if email == "" || len(text) <= len(email) {
		return ""
	}
	p := 0
	for p < len(email) && text[p] == email[p] {
		p++
	}
	s := 0
	for s < len(email)-p && text[len(text)-1-s] == email[len(email)-1-s] {
		s++
	}
	return strings.TrimSpace(text[p : len(text)-s])
}

// docWords is the least length of a joined benign document.
const docWords = 300

// docCopies is how many joined documents each benign text is in.
const docCopies = 3

const sourceAugmented = "augmented:"

func longestLine(email string) string {
	if i := strings.Index(email, "CONTENT:"); i >= 0 {
		email = email[i+len("CONTENT:"):]
	}
	best := ""
	for _, l := range strings.Split(email, "\n") {
		if l = strings.TrimSpace(l); len(l) > len(best) {
			best = l
		}
	}
	return best
}

// insertLine puts line at the start (0), a line break near the middle
// (1) or the end (2) of an email's content.
func insertLine(email, line string, place int) string {
	head, body := "", email
	if i := strings.Index(email, "CONTENT:"); i >= 0 {
		head, body = email[:i+len("CONTENT:")], email[i+len("CONTENT:"):]
	}
	switch place {
	case 0:
		return head + " " + line + "\n" + body
	case 2:
		return head + body + "\n" + line
	}
	cut := strings.IndexByte(body[len(body)/2:], '\n')
	if cut < 0 {
		return head + body + "\n" + line
	}
	cut += len(body) / 2
	return head + body[:cut] + "\n" + line + body[cut:]
}
