package normalize

// confusables folds letters that NFKC keeps but that read as Latin ones.
// Source: Unicode Technical Standard #39, confusables.txt (the
// "MA" table), the subset whose target is one ASCII letter or mark, for
// the Cyrillic, Greek and Armenian letters and the Latin small capitals
// used to spell English words in another script; plus the typographic
// quotes and dashes confusables.txt maps to ASCII punctuation. Case does
// not matter: the result is lowercased after folding.
const confusables = "" +
	// Cyrillic
	"аaвbеeкkмmнhоoрpсcтtуyхxѕsіiјjԁdԛqԝwһhӏlүy" +
	"АaВbЕeКkМmНhОoРpСcТtУyХxЅsІiЈjԚqԜwҺhӀlҮy" +
	// Greek
	"αaβbγyιiκkνvοoρpυuχxϲcϳjΑaΒbΕeΖzΗhΙiΚkΜmΝnΟoΡpΤtΥyΧxϹc" +
	// Armenian
	"օoսuցgհhոnզqՕoՍu" +
	// Latin IPA and small capitals
	"ɑaɡgıiȷjɩiʋuɪiᴀaʙbᴄcᴅdᴇeꜰfɢgʜhᴊjᴋkʟlᴍmɴnᴏoᴘpʀrꜱsᴛtᴜuᴠvᴡwʏyᴢz" +
	// punctuation
	"‘'’'‚'‛'′'ʹ'ʼ'“\"”\"„\"‟\"″\"‐-‑-‒-–-—-―-−-⁄/"

// foldTable builds the look-alike map: the confusables above, and Latin
// letters with diacritics are handled by decomposition (see rune).
func foldTable() map[rune]rune {
	rs := []rune(confusables)
	m := make(map[rune]rune, len(rs)/2)
	for i := 0; i+1 < len(rs); i += 2 {
		m[rs[i]] = rs[i+1]
	}
	return m
}

// invisible reports format and control characters a reader does not see
// and a model may still read past: zero-width characters, bidi controls,
// the soft hyphen, variation selectors and fillers. Tag characters are
// handled apart (see tag).
func invisible(r rune) bool {
	switch {
	case r < 0xA0:
		return r >= 0x80 // C1 controls; U+0085 is a newline, handled first
	case r == 0xAD, r == 0x34F, r == 0x61C, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, r == 0x3164, r == 0xFEFF, r == 0xFFA0:
		return true
	case r >= 0x180B && r <= 0x180F: // Mongolian selectors and vowel separator
		return true
	case r >= 0x200B && r <= 0x200F: // zero-width space, (non-)joiner, LRM, RLM
		return true
	case r >= 0x202A && r <= 0x202E: // bidi embeddings and overrides
		return true
	case r >= 0x2060 && r <= 0x206F: // word joiner, invisible operators, isolates
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r >= 0xFFF9 && r <= 0xFFFB: // interlinear annotation
		return true
	case r >= 0x1D173 && r <= 0x1D17A: // musical formatting
		return true
	}
	return false
}

// droppedMark reports the combining marks that decorate Latin text
// (accents after decomposition, "zalgo" stacks); they are removed so
// "ïgnörë" reads "ignore".
func droppedMark(r rune) bool {
	return r >= 0x300 && r <= 0x36F || r >= 0x1AB0 && r <= 0x1AFF ||
		r >= 0x1DC0 && r <= 0x1DFF || r >= 0x20D0 && r <= 0x20FF ||
		r >= 0xFE20 && r <= 0xFE2F
}
