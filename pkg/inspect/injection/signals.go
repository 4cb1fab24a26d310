package injection

import "strings"

// Signal is one curated phrase pattern of prompt injection. Signals are
// features of the model (each has a learned weight) and name the rule of
// a finding whose window holds one.
type Signal uint8

// Signals, in the order a finding's rule is chosen.
const (
	// SignalSpecialToken: a chat template's special tokens (<|im_start|>,
	// <|endoftext|>, [INST], <<SYS>>, <|eot_id|>) have no business in a
	// prompt or a tool result; a window holding one is reported whatever
	// the model says.
	SignalSpecialToken Signal = iota
	SignalTurn                // fake turn headers: ### Instruction:, "\nSystem:", <system>
	SignalOverride            // ignore/disregard/forget (all) previous instructions
	SignalSysprompt           // reveal/repeat/print your system prompt
	SignalDevMode             // developer mode, DAN, jailbreak, do anything now
	SignalRoleplay            // you are now, from now on, act as, pretend to be
	numSignals
)

var signalNames = [numSignals]string{
	"signal.special_token", "signal.turn", "signal.override", "signal.sysprompt", "signal.devmode", "signal.roleplay",
}

func (s Signal) String() string {
	if s < numSignals {
		return signalNames[s]
	}
	return "signal?"
}

// Signals is a set of Signal.
type Signals uint8

// First returns the highest-priority signal in the set.
func (s Signals) First() (Signal, bool) {
	for b := Signal(0); b < numSignals; b++ {
		if s&(1<<b) != 0 {
			return b, true
		}
	}
	return 0, false
}

// Word classes, as bits: a word may be in several.
const (
	wOverrideVerb uint32 = 1 << iota
	wRulesNoun
	wEverything
	wBefore
	wRevealVerb
	wPromptOwner
	wPromptNoun
	wYou
	wAreWill
	wYoure
	wNow
	wFrom
	wOn
	wAct
	wAs
	wPretend
	wPretendNext
	wDev
	wMode
	wJail
	wDo
	wAnything
	wSpecialTok
	wInst
	wSys
	wRole
	wHeader
)

// vocabulary lists the words of each class, as they appear after
// normalisation and tokenizing (lowercase, apostrophes dropped).
var vocabulary = []struct {
	class uint32
	words string
}{
	{wOverrideVerb, "ignore ignoring ignores disregard disregarding forget forgetting override overriding bypass skip neglect overlook discard abandon drop omit erase delete"},
	{wRulesNoun, "instructions instruction rules rule directions directives directive prompt prompts guidelines guideline guidance constraints restrictions commands context programming policies policy filters safeguards protocols orders training limitations conversation messages"},
	{wEverything, "everything all anything"},
	{wBefore, "above before previously told said prior earlier"},
	{wRevealVerb, "reveal show print repeat output tell display leak share give write spell recite disclose dump expose provide return echo list paste copy what whats"},
	{wPromptOwner, "system initial original hidden secret your pre developer internal confidential full entire above previous first"},
	{wPromptNoun, "prompt prompts instructions message rules guidelines directives configuration text"},
	{wYou, "you u"},
	{wAreWill, "are will shall must"},
	{wYoure, "youre youll"},
	{wNow, "now"},
	{wFrom, "from"},
	{wOn, "on onwards forward"},
	{wAct, "act acting behave respond answer"},
	{wAs, "as like"},
	{wPretend, "pretend pretending roleplay impersonate simulate emulate embody"},
	{wPretendNext, "to you that as being a an"},
	{wDev, "developer dev god debug admin sudo maintenance unrestricted"},
	{wMode, "mode"},
	{wJail, "jailbreak jailbroken jailbreaking dan dude stan antidan"},
	{wDo, "do"},
	{wAnything, "anything"},
	{wSpecialTok, "im_start im_end im_sep endoftext eot_id start_header_id end_header_id"},
	{wInst, "inst"},
	{wSys, "sys"},
	{wRole, "system assistant user human"},
	{wHeader, "instruction instructions system response input assistant user human context"},
}

// signalTable maps word hashes to classes: open addressing, built once,
// behind a bitset that turns away almost every other word with one load.
type signalTable struct {
	bits [1024]uint64
	keys [1024]uint64
	vals [1024]uint32
}

func bitOf(h uint64) uint64 { return (h * mulA) >> 48 }

func newSignalTable() signalTable {
	var t signalTable
	for _, v := range vocabulary {
		for _, w := range strings.Fields(v.words) {
			h := hashString(w)
			i := slot(h)
			for t.keys[i] != 0 && t.keys[i] != h {
				i = (i + 1) & 1023
			}
			t.keys[i] = h
			t.vals[i] |= v.class
			t.bits[bitOf(h)>>6] |= 1 << (bitOf(h) & 63)
		}
	}
	return t
}

func slot(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> 54 }

func (t *signalTable) lookup(h uint64) uint32 {
	if b := bitOf(h); t.bits[b>>6]&(1<<(b&63)) == 0 {
		return 0
	}
	for i := slot(h); t.keys[i] != 0; i = (i + 1) & 1023 {
		if t.keys[i] == h {
			return t.vals[i]
		}
	}
	return 0
}

// sigRing holds the classes of the last eight words.
type sigRing struct {
	c   [8]uint32
	pos uint8
}

func (r *sigRing) skip() { r.pos++; r.c[r.pos&7] = 0 }

// back returns the classes of the word k words before the current one.
func (r *sigRing) back(k uint8) uint32 { return r.c[(r.pos-k)&7] }

// within reports whether one of the k words before the current one is
// in class.
func (r *sigRing) within(k uint8, class uint32) bool {
	for j := uint8(1); j <= k; j++ {
		if r.back(j)&class != 0 {
			return true
		}
	}
	return false
}

// push records a word of classes cls spanning text[ws:we] (its segment
// starts at seg) and returns the signals it completes.
func (r *sigRing) push(cls uint32, text []byte, seg, ws, we int) Signals {
	r.pos++
	r.c[r.pos&7] = cls
	var s Signals
	before := func(k int) byte { // the byte k before the word, or '\n' at its start
		if ws-k < seg {
			return '\n'
		}
		return text[ws-k]
	}
	after := byte(0)
	if we < len(text) {
		after = text[we]
	}
	switch {
	case cls&wSpecialTok != 0 && (before(1) == '|' || before(1) == '<'),
		cls&wInst != 0 && (before(1) == '[' || before(1) == '/' && before(2) == '[') && after == ']',
		cls&wSys != 0 && before(1) == '<' && before(2) == '<':
		s |= 1 << SignalSpecialToken
	}
	switch {
	case cls&wHeader != 0 && (before(1) == '#' || before(1) == ' ' && before(2) == '#'),
		cls&wRole != 0 && (before(1) == '\n' || before(1) == '<' || before(1) == '[' ||
			before(1) == '/' && before(2) == '<') && (after == ':' || after == '>' || after == ']'):
		s |= 1 << SignalTurn
	}
	if cls&wRulesNoun != 0 && r.within(5, wOverrideVerb) ||
		cls&wBefore != 0 && r.within(3, wEverything) && r.within(5, wOverrideVerb) {
		s |= 1 << SignalOverride
	}
	if cls&wPromptNoun != 0 && r.back(1)&wPromptOwner != 0 && r.within(6, wRevealVerb) {
		s |= 1 << SignalSysprompt
	}
	if cls&wJail != 0 || cls&wMode != 0 && r.back(1)&wDev != 0 ||
		cls&wNow != 0 && r.back(1)&wAnything != 0 && r.back(2)&wDo != 0 {
		s |= 1 << SignalDevMode
	}
	if cls&wNow != 0 && (r.back(1)&wYoure != 0 || r.back(1)&wAreWill != 0 && r.back(2)&wYou != 0) ||
		cls&wOn != 0 && r.back(1)&wNow != 0 && r.back(2)&wFrom != 0 ||
		cls&wAs != 0 && r.back(1)&wAct != 0 ||
		cls&wPretendNext != 0 && r.back(1)&wPretend != 0 {
		s |= 1 << SignalRoleplay
	}
	return s
}
