package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"lab/internal/testrun"
)

// chromiumPath is Debian's Chromium (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

var devtoolsURL = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startBrowser starts headless Chromium, recorded in the test run (so a
// killed run leaves no browser behind), with a fresh profile, and returns
// a tab's context of the given size. Everything stops when the test ends.
func startBrowser(t *testing.T, width, height int64) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium)", chromiumPath)
	}
	profile := testrun.TempDir(t)
	cmd := exec.Command(chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(profile, "data"), "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	// Its own home: nothing written to root's (~/.config/chromium).
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(profile, "home"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the browser's Stop: Chromium's
	// crash handler leaves the process group (it starts a session of its
	// own) and outlives the browser a moment.
	testrun.Cleanup(t, func() { reapProfile(t, profile) })
	p := testrun.Start(t, "chromium", cmd)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var ws string
	select {
	case ws = <-found:
	case <-p.Done():
		t.Fatalf("chromium exited before it listened: %v", p.Err())
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not say where its DevTools listen in 30s")
	}
	actx, acancel := remote.NewAllocator(context.Background(), ws)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return ctx
}

// reapProfile ends the processes whose command line names the browser's
// profile directory (its crash handler: started by the test's browser,
// in a session of its own), and waits until they are gone.
func reapProfile(t *testing.T, dir string) {
	find := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.Contains(b, []byte(dir)) {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	eventually(t, 10*time.Second, "the browser's processes gone", func() error {
		pids := find()
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) > 0 {
			return fmt.Errorf("processes %v left", pids)
		}
		return nil
	})
}

// evalIn evaluates a JavaScript expression in the tab.
func evalIn[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition in the tab until it is true, and
// returns how long that took.
func waitJS(t *testing.T, ctx context.Context, what string, d time.Duration, expr string) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, d, what, func() error {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("false: %s", expr)
		}
		return nil
	})
	return time.Since(start)
}
