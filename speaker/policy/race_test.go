//go:build race

package policy

// raceEnabled: the race detector makes sync.Pool drop buffers at random,
// so allocations are not counted under it.
const raceEnabled = true
