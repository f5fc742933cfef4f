//go:build race

package speakerconf

// raceEnabled: the race detector slows a lab of speakers in process down
// about tenfold.
const raceEnabled = true
