package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var webURLRe = regexp.MustCompile(`at (http://\S+)`)

// webURL is the URL `lab web` printed.
func webURL(t *testing.T, out string) string {
	t.Helper()
	m := webURLRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lab web printed no URL: %q", out)
	}
	return m[1]
}

// screenshot saves the tab's picture in the test's output directory
// (go test -artifacts -outputdir DIR keeps it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// count is a JavaScript expression counting the elements sel matches.
func count(sel string) string {
	return "document.querySelectorAll(" + jsString(sel) + ").length"
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func hasClass(id, class string) string {
	return "(document.getElementById(" + jsString(id) + ")||{classList:{contains:()=>false}}).classList.contains(" + jsString(class) + ")"
}

// TestWebPage drives the seed lab's page in headless Chromium: the
// picture, a link taken down from the shell, sessions reset from the
// router panel's button coming back, the router's table, a link's
// blackhole button, pingall's matrix, and the read-only page without
// buttons and refusing a forged action.
func TestWebPage(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	l.must("cmd", l.name, "wait")
	url := webURL(t, l.must("web", l.name))
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.Contains(url, "token=") {
		t.Errorf("default URL %s: want loopback, without a token", url)
	}
	if again := webURL(t, l.must("web", l.name)); again != url {
		t.Errorf("lab web again: %s, want the same server at %s", again, url)
	}
	ctx := startBrowser(t, 1600, 900)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page live", 20*time.Second, `document.querySelector('#conn.live') && `+hasClass("link-0", "up"))
	if n := evalIn[int](t, ctx, count(`#graph g.node[id^="node-"]`)); n != 8 {
		t.Errorf("%d nodes on the page, want 8", n)
	}
	if n := evalIn[int](t, ctx, count(`#graph line.link[id^="link-"]`)); n != 8 {
		t.Errorf("%d links on the page, want 8", n)
	}
	waitJS(t, ctx, "8 links up and 8 sessions Established", 10*time.Second,
		count(`#graph > svg line.link.up`)+` === 8 && `+count(`#graph > svg g.session.established`)+` === 8`)

	// The router panel shows the table the shell shows.
	if err := chromedp.Do(ctx, chromedp.Click("#node-as1ra")); err != nil {
		t.Fatal(err)
	}
	text := l.must("cmd", l.name, "as1ra show bgp ipv6")
	prefixes := regexp.MustCompile(`2001:[0-9a-f:]+/\d+`).FindAllString(text, -1)
	if len(prefixes) < 4 {
		t.Fatalf("as1ra's IPv6 table has %d prefixes:\n%s", len(prefixes), text)
	}
	cond := `document.querySelector('#router-table') && ` + count("#router-table tr.best") + ` >= 8`
	for _, p := range prefixes {
		cond += ` && document.querySelector('#router-table').textContent.includes(` + jsString(p) + `)`
	}
	waitJS(t, ctx, "as1ra's table in its panel", 10*time.Second, cond)
	// The seed's best path to AS 4 is through AS 2.
	waitJS(t, ctx, "as1ra's best path to 2001:1234:4::/64", 2*time.Second,
		`[...document.querySelectorAll('#router-table tr.best')].some(r => r.textContent.includes('2001:1234:4::/64') && r.textContent.includes('2 4'))`)
	screenshot(t, ctx, "seed.png")

	// A link taken down in the shell turns down on the page within 2 s.
	l.must("cmd", l.name, "link as1ra as2rb down")
	took := waitJS(t, ctx, "link-0 down on the page", 2*time.Second, hasClass("link-0", "down"))
	t.Logf("link as1ra as2rb down: on the page after %v", took)

	// The panel's clear button resets as1ra's sessions; the one over the
	// down link cannot come back until the link does.
	if err := chromedp.Do(ctx, chromedp.Click(`#panel button[data-action="clear bgp *"]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "session-0 (over the down link) not Established", 5*time.Second, `!`+hasClass("session-0", "established"))
	waitJS(t, ctx, "OPEN messages in the ticker", 10*time.Second, count(`#ticker li.OPEN`)+` > 0`)
	if err := chromedp.Do(ctx, chromedp.Click(`#graph .hit[data-link="link-0"]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the down link's panel", 5*time.Second, `document.querySelector('#panel .st.down')`)
	screenshot(t, ctx, "seed-link-down.png")
	l.must("cmd", l.name, "link as1ra as2rb up")
	waitJS(t, ctx, "link-0 up", 2*time.Second, hasClass("link-0", "up"))
	took = waitJS(t, ctx, "every session Established again", 30*time.Second, count(`#graph > svg g.session.established`)+` === 8`)
	t.Logf("sessions back on the page after %v", took)

	// A link's blackhole button, then restore.
	if err := chromedp.Do(ctx, chromedp.Click(`#graph .hit[data-link="link-3"]`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#panel button[data-action="blackhole"]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "link-3 blackholed on the page", 2*time.Second, hasClass("link-3", "blackhole"))
	if out := l.must("cmd", l.name, "links"); !strings.Contains(out, "as2rb-eth2<->as4rd-eth0 (blackholed blackholed) blackholed") {
		t.Errorf("links after the blackhole button:\n%s\nwant as2rb-eth2<->as4rd-eth0 blackholed", out)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#panel button[data-action="restore"]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "link-3 restored", 2*time.Second, hasClass("link-3", "up"))

	// pingall fills the matrix: 4 hosts, 12 ordered pairs, once the
	// routes are back (`wait` is no help here: the sessions reset while
	// the link was down lost UPDATEs, and its counters never match again).
	eventually(t, 30*time.Second, "12 reachable pairs in the matrix after pingall", func() error {
		if err := chromedp.Do(ctx, chromedp.Click(`#pingall:enabled`)); err != nil {
			return err
		}
		waitJS(t, ctx, "pingall's answer", 20*time.Second, `!document.querySelector('#pingall').disabled`)
		if n := evalIn[int](t, ctx, count(`#matrix td.ok`)); n != 12 {
			return fmt.Errorf("%d pairs reachable", n)
		}
		return nil
	})

	// An action without the page's token is refused.
	forge := func(base string) int {
		t.Helper()
		req, err := http.NewRequest("POST", strings.TrimSuffix(base, "/")+"/api/link", strings.NewReader(`{"link":0,"op":"down"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := forge(url); code != http.StatusForbidden {
		t.Errorf("action without the token: HTTP %d, want 403", code)
	}

	// Read-only: no buttons, and a forged action is refused.
	ro := webURL(t, l.must("web", l.name, "--read-only"))
	if ro == url {
		t.Fatalf("the read-only page is the same server: %s", ro)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ro)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the read-only page live", 20*time.Second, `document.querySelector('#conn.live') && `+hasClass("link-0", "up"))
	if err := chromedp.Do(ctx, chromedp.Click(`#graph .hit[data-link="link-0"]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the link panel", 5*time.Second, `document.querySelector('#panel h2').textContent.includes('as1ra')`)
	if err := chromedp.Do(ctx, chromedp.Click("#node-as1ra")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the router panel", 10*time.Second, `document.querySelector('#router-table')`)
	// The matrix pingall filled on the other page is shown here too.
	waitJS(t, ctx, "the last pingall's matrix", 5*time.Second, count(`#matrix td.ok`)+` === 12`)
	screenshot(t, ctx, "seed-read-only.png")
	if n := evalIn[int](t, ctx, count(`button.action, #pingall, meta[name="lab-token"]`)); n != 0 {
		t.Errorf("read-only page: %d action buttons or tokens, want none", n)
	}
	if code := forge(ro); code != http.StatusForbidden {
		t.Errorf("forged action on the read-only page: HTTP %d, want 403", code)
	}
	// The page's own script cannot act either.
	status, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`fetch('/api/link', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"link":0,"op":"down"}'}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusForbidden {
		t.Errorf("a fetch from the read-only page: HTTP %v, want 403", status)
	}
	if out := l.must("cmd", l.name, "links"); strings.Count(out, "(OK OK)\n") != 8 {
		t.Errorf("links after refused actions:\n%s\nwant all 8 up", out)
	}
}

// TestWebBA50 shows a Barabási–Albert lab of 50 ASes: every node and
// link on the page, every session Established, a hub router's panel; its
// screenshot is the README's.
func TestWebBA50(t *testing.T) {
	l := newTestLab(t)
	file := filepath.Join(t.TempDir(), "ba50.yaml")
	l.must("generate", "ba", "-n", "50", "-o", file)
	l.must("up", "-d", "--name", l.name, file)
	url := webURL(t, l.must("web", l.name))
	ctx := startBrowser(t, 1600, 900)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page live", 20*time.Second, `document.querySelector('#conn.live')`)
	if n := evalIn[int](t, ctx, count(`#graph g.node[id^="node-"]`)); n != 50 {
		t.Errorf("%d nodes on the page, want 50", n)
	}
	if n := evalIn[int](t, ctx, count(`#graph line.link[id^="link-"]`)); n != 96 {
		t.Errorf("%d links on the page, want 96", n)
	}
	took := waitJS(t, ctx, "96 links up and 192 sessions Established", 60*time.Second,
		count(`#graph > svg line.link.up`)+` === 96 && `+count(`#graph > svg g.session.established`)+` === 192`)
	t.Logf("every session Established on the page after %v", took)
	if err := chromedp.Do(ctx, chromedp.Click("#node-r1")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "r1's table: 50 IPv4 prefixes", 30*time.Second,
		`document.querySelector('#router-table h3') && document.querySelector('#router-table h3').textContent.includes('50 prefixes')`)
	screenshot(t, ctx, "ba50.png")
}
