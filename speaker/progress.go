package speaker

import "lab/speaker/fib"

// InstalledRoutes returns how many routes the speaker has in its
// namespace's kernel table now (0 before it started, or without a FIB):
// cheap, for the progress `lab up` shows.
func (sp *Speaker) InstalledRoutes() int {
	sp.mu.Lock()
	var f *fib.FIB
	if sp.started { // Prepare sets fib before it sets started under mu
		f = sp.fib
	}
	sp.mu.Unlock()
	if f == nil {
		return 0
	}
	return f.Len()
}
