// Command lab turns a YAML topology of ASes, routers, hosts and links into
// a live BGP lab on this machine: a network namespace per node, a veth
// pair per link, an embedded BGP-4 speaker per router installing its best
// routes in the router's kernel table, and a shell.
//
//	lab run FILE              build the lab, open the shell, tear down on exit
//	lab up [-d] FILE          start a lab daemon (foreground, or detached)
//	lab down NAME             stop a lab and remove everything it made
//	lab ls                    list running labs
//	lab shell NAME            attach a shell to a running lab
//	lab cmd [--json] NAME LINE...   run shell commands, exit status says if they succeeded
//	lab exec NAME NODE -- CMD...    run a program inside a node
//	lab web NAME [--listen ADDR:PORT] [--read-only]   serve the lab's live web page
//	lab validate FILE...      check topology files, print every problem
//	lab test FILE|NAME [TEST...]    run a lab's tests (its validate: section)
//	lab test --batch DIR FILE       grade every submission in DIR against an exercise
//	lab graph FILE [--format svg|dot|json] [-o FILE]   draw the topology
//	lab generate ba -n N      write a Barabási–Albert topology of N ASes
//	lab clean                 remove what crashed labs left behind
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const usage = `usage: lab COMMAND [ARGS]

Commands:
  run [--name NAME] [-q] FILE   build the lab, open the shell, tear everything down on exit
  up [--name NAME] [-d] FILE    start the lab daemon (foreground; -d: in the background)
  down NAME                     stop a running lab and remove everything it created
  ls                            list running labs
  shell NAME                    open a shell on a running lab
  cmd [--json] NAME LINE...     run shell commands on a running lab (exit status 1 if one fails)
  apply [--json] NAME FILE      apply FILE's policies, settings, relations, prefixes and timers to
                                a running lab (sessions reset only where they must)
  exec NAME NODE [--] CMD...    run a program inside a node's namespace
  web NAME [--listen ADDR:PORT] [--read-only]
                                serve the lab's live web page (default 127.0.0.1, a free port) and
                                print its URL; elsewhere than loopback the URL carries a token
  validate FILE...              check topology files and print every problem found
  test [--list] [--json] [--junit FILE] [--lab NAME] FILE|NAME [TEST...]
                                run the tests of FILE's validate: section (or of an exercise file)
                                on a lab of their own, or on the running lab NAME: one line per
                                test; exit 0 all passed, 1 a test failed, 2 no usable test or a
                                bad file, 3 passed with warnings
  test --batch DIR [--csv|--json] [--junit FILE] FILE [TEST...]
                                grade every submission (topology file) in DIR against FILE's
                                tests, each in a lab of its own, as many at once as there are cores
  graph FILE [--format svg|dot|json] [-o FILE]
                                draw the topology: SVG (default; DOT when stdout is a terminal),
                                Graphviz DOT, or JSON geometry; -o's extension picks the format
  generate ba -n N [-m M] [--seed S] [--relations] [-o FILE]
                                write a Barabási–Albert topology of N ASes (one router, one prefix each);
                                --relations: each link's older AS is the provider of the newer
  clean                         remove the namespaces, processes and files of labs whose daemon died

Environment:
  LAB_RUN_DIR   state directory (default /run/lab)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(args)
	case "up":
		err = cmdUp(args)
	case "down":
		err = cmdDown(args)
	case "ls":
		err = cmdLs(args)
	case "shell":
		err = cmdShell(args)
	case "apply":
		err = cmdApply(args)
	case "cmd":
		err = cmdCmd(args)
	case "exec":
		err = cmdExec(args)
	case "web":
		err = cmdWeb(args)
	case "validate":
		err = cmdValidate(args)
	case "test":
		err = cmdTest(args)
	case "graph":
		err = cmdGraph(args)
	case "generate":
		err = cmdGenerate(args)
	case "clean":
		err = cmdClean(args)
	case daemonCommand:
		err = cmdDaemon(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "lab: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(os.Stderr, ex.msg)
			}
			os.Exit(ex.code)
		}
		fmt.Fprintf(os.Stderr, "lab %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// exitError ends the program with a status and an optional message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// runDir is where labs keep their state files and control sockets.
func runDir() string {
	if d := os.Getenv("LAB_RUN_DIR"); d != "" {
		return d
	}
	return "/run/lab"
}

func socketPath(name string) string { return filepath.Join(runDir(), name+".sock") }
func logPath(name string) string    { return filepath.Join(runDir(), name+".log") }

// needRoot fails early, with the reason, for commands that create or enter
// namespaces.
func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root: it creates and enters network namespaces (try: sudo lab %s)", what, what)
	}
	return nil
}

// flagValue parses "--flag VALUE" and "--flag=VALUE" from args; it returns
// the value and args without them.
func flagValue(args []string, names ...string) (string, []string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1], append(append([]string{}, args[:i]...), args[i+2:]...), true
			}
			if strings.HasPrefix(a, n+"=") {
				return a[len(n)+1:], append(append([]string{}, args[:i]...), args[i+1:]...), true
			}
		}
	}
	return "", args, false
}

// flagBool removes a boolean flag from args and reports whether it was there.
func flagBool(args []string, names ...string) (bool, []string) {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, n := range names {
			if a == n {
				return true, append(append([]string{}, args[:i]...), args[i+1:]...)
			}
		}
	}
	return false, args
}
