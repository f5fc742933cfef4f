//go:build !race

package speakerconf

const raceEnabled = false
