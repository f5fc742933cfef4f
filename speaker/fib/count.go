package fib

// Len returns how many routes the kernel holds from us: cheap, for
// progress reports (Installed lists them).
func (f *FIB) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.installed)
}
