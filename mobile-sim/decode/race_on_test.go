//go:build race

package decode

// raceEnabled tells tests that the race detector (about 10× slower) is on.
const raceEnabled = true
