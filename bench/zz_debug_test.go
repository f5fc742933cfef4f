package bench

import (
	"os"
	"runtime/pprof"
	"time"
)

var dumped bool

func debugDump(t0 time.Time) {
	if dumped || time.Since(t0) < 4*time.Second {
		return
	}
	dumped = true
	f, _ := os.Create("/tmp/perfprof/gr.txt")
	pprof.Lookup("goroutine").WriteTo(f, 1)
	f.Close()
}
