//go:build !race

package secrets

const raceOn = false
