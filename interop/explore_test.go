package interop

import (
	"os"
	"testing"
	"time"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	l := buildLab(t, labSpec{peer: os.Getenv("EXPLORE"), ourAS: 65001, peerAS: 65002})
	os.WriteFile("/tmp/explore.env", []byte("NS="+l.peerNS()+"\nDIR="+l.dir+"\nOURNS="+l.net.NamespacePath("lab")+"\n"), 0o644)
	l.startSpeaker()
	for i := 0; i < 600; i++ {
		if _, err := os.Stat("/tmp/explore.stop"); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
}
