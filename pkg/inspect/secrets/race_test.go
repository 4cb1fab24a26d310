//go:build race

package secrets

// raceOn: the race detector slows Go's regexp, the reference in the
// differential tests, tenfold; they then check a sample of the corpus.
const raceOn = true
