//go:build race

package engine

// raceEnabled: the race detector slows the byte-by-byte replays tenfold;
// `make test` runs them exhaustively in a separate run without it.
const raceEnabled = true
