// Command mlruns looks at, compares, exports, cleans and checks MLflow file
// stores (mlruns folders) without Python.
//
//	mlruns [--root DIR|URI] <command> [flags]
//
// Run `mlruns help` for the commands. Listings print an aligned table by
// default, or --json (the shapes of MLflow's REST API responses) or --csv.
// Errors print one line on stderr and exit 1; usage mistakes exit 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/tracking"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a chosen exit code with a message already printed or
// none to print (fsck with problems left).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// env is what every command gets: the store root and where to print.
type env struct {
	ctx  context.Context
	root string // the local store folder; "" when server is set
	// server is the http(s) tracking URI the commands read from instead
	// of a folder (--root or MLFLOW_TRACKING_URI naming a server).
	server string
	stdout io.Writer
	stderr io.Writer
	// warnings counts what the store reported skipping (broken runs and
	// experiments left out of a listing), each printed on stderr.
	warnings *stderrWarnings
}

// open opens the store at the root. Commands that only read call it too:
// Open creates nothing but the Default experiment of an empty folder, as
// MLflow's FileStore does. Every broken entity a listing leaves out is
// printed on stderr as a warning (a listing that silently lacks a run is
// worse than one that says so).
func (e *env) open() (store.Store, error) {
	if e.server != "" {
		return tracking.OpenStore(e.server, nil)
	}
	return e.openLocal()
}

// location names the store for messages: the server URI or the folder's
// absolute path.
func (e *env) location() string {
	if e.server != "" {
		return e.server
	}
	if abs, err := filepath.Abs(e.root); err == nil {
		return abs
	}
	return e.root
}

// openLocal opens the local store folder, for the commands that work on
// files (fsck, gc, demo): pointed at a server they say so.
func (e *env) openLocal() (*filestore.Store, error) {
	if e.server != "" {
		return nil, errs.New(errs.ErrNotSupported, fmt.Sprintf(
			"this command works on a local store folder, and %s is an MLflow tracking server; run it where the store's files are", e.server))
	}
	if e.warnings == nil {
		e.warnings = &stderrWarnings{w: e.stderr}
	}
	return filestore.Open(e.root, &filestore.Options{Logger: slog.New(e.warnings)})
}

// stderrWarnings prints the store's warnings on stderr, one line each.
type stderrWarnings struct {
	w io.Writer
	n int
}

func (h *stderrWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *stderrWarnings) Handle(_ context.Context, r slog.Record) error {
	h.n++
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(r.Message, "mlruns: "))
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, strings.TrimPrefix(a.Value.String(), "mlruns: "))
		return true
	})
	_, err := fmt.Fprintf(h.w, "mlruns: warning: %s\n", strings.ReplaceAll(b.String(), "\n", " "))
	return err
}

func (h *stderrWarnings) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *stderrWarnings) WithGroup(string) slog.Handler      { return h }

// command is one top-level command. Files register theirs in init.
type command struct {
	name    string
	summary string // one line for `mlruns help`
	order   int    // position in `mlruns help`
	// run is the command; a group (experiments, runs, metrics) has subs
	// instead, dispatched by runGroup.
	run  func(e *env, args []string) error
	subs []subcommand
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("mlruns: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// subcommand is one verb of a command group (`experiments list`).
type subcommand struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

// runGroup dispatches a group's verb. A bare group name is a usage error
// that names the verbs; -h, --help and help print them.
func runGroup(e *env, group string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%s: want a subcommand: %s", group, strings.Join(names, ", "))}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "usage: mlruns %s <subcommand> [flags]\n\nsubcommands:\n", group)
		for _, s := range subs {
			fmt.Fprintf(e.stdout, "  %-9s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(e.stdout, "\nRun 'mlruns %s <subcommand> -h' for its flags.\n", group)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(e, args[1:])
		}
	}
	return usageError{fmt.Sprintf("%s: unknown subcommand %q (want one of %s)", group, args[0], strings.Join(names, ", "))}
}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: mlruns [--root DIR|URI] <command> [flags]\n\ncommands:\n")
	cs := make([]command, 0, len(commands))
	for _, c := range commands {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b command) int { return a.order - b.order })
	for _, c := range cs {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	b.WriteString(`
--root (or --tracking-uri) is a store folder, a file: URI or an MLflow
tracking server (http:// or https://); it defaults to MLFLOW_TRACKING_URI,
else ./mlruns. Listings print a table, or --json (MLflow REST shapes) or
--csv. Run 'mlruns <command> -h' for a command's flags.
`)
	return b.String()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mlruns: %s\n\nRun 'mlruns help' for usage.\n", ue.msg)
		return 2
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "mlruns: %s\n", ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "mlruns: %s\n", errorLine(err))
		return 1
	}
}

// errorLine is the one line printed for a failed command: what went wrong
// and, where the kind says what to do, the hint.
func errorLine(err error) string {
	hint := ""
	switch {
	case errors.Is(err, errs.ErrNotFound):
		hint = "check the id or name with 'mlruns experiments list' or 'mlruns runs list --view all'"
	case errors.Is(err, errs.ErrCorrupt):
		hint = "run 'mlruns fsck' to see what is damaged"
	case errors.Is(err, errs.ErrInvalidState):
		hint = "restore it first, or use --view deleted to see it"
	}
	return withHint(err, hint)
}

// errorMessage is an error's text on one line, without the "mlruns: "
// every store error starts with.
func errorMessage(err error) string {
	return strings.ReplaceAll(strings.TrimPrefix(err.Error(), "mlruns: "), "\n", " ")
}

// withHint is the printed line: the message, MLflow's error code and the
// hint, if any.
func withHint(err error, hint string) string {
	line := fmt.Sprintf("%s (%s)", errorMessage(err), errs.Code(err))
	if hint != "" {
		line += "; " + hint
	}
	return line
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	global := flag.NewFlagSet("mlruns", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	root := global.String("root", defaultRoot(), "mlruns folder, file: URI, or http(s):// tracking server")
	global.Var(aliasFlag{root}, "tracking-uri", "the same as --root")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage())
			return err
		}
		return usageError{err.Error()}
	}
	rest := global.Args()
	if len(rest) == 0 {
		return usageError{"no command given"}
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, usage())
		return nil
	}
	c, ok := commands[rest[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q", rest[0])}
	}
	sub, after, err := takeRoot(rest[1:])
	if err != nil {
		return err
	}
	if after != "" {
		*root = after
	}
	rest = append(rest[:1], sub...)
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr}
	if isServerURI(*root) {
		e.server = *root
	} else if e.root, err = filestore.TrackingPath(*root); err != nil {
		return err // a database URI, or a file: URI of another host
	}
	if c.subs != nil {
		return runGroup(e, c.name, c.subs, rest[1:])
	}
	return c.run(e, rest[1:])
}

// isServerURI reports whether a root names an MLflow tracking server.
func isServerURI(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// takeRoot lets --root come after the command too (mlruns demo --root
// DIR), as users write it: it takes --root DIR or --root=DIR out of a
// command's arguments (up to a "--") and returns the rest and the value
// ("" if none).
func takeRoot(args []string) (rest []string, root string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(rest, args[i:]...), root, nil
		case isRootFlag(a):
			if i+1 >= len(args) {
				return nil, "", usageError{"flag needs an argument: " + a}
			}
			root = args[i+1]
			i++
		case strings.Contains(a, "=") && isRootFlag(a[:strings.IndexByte(a, '=')]):
			root = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	return rest, root, nil
}

// isRootFlag reports whether a is the root flag, under either name.
func isRootFlag(a string) bool {
	switch a {
	case "--root", "-root", "--tracking-uri", "-tracking-uri":
		return true
	}
	return false
}

// aliasFlag sets the string another flag holds (--tracking-uri is --root).
type aliasFlag struct{ p *string }

func (f aliasFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}
func (f aliasFlag) Set(v string) error { *f.p = v; return nil }

// defaultRoot is MLFLOW_TRACKING_URI, else ./mlruns. A URI that names no
// local store (a server, a database) is refused when the command runs,
// rather than silently replaced by ./mlruns.
func defaultRoot() string {
	if uri := os.Getenv("MLFLOW_TRACKING_URI"); uri != "" {
		return uri
	}
	return "mlruns"
}
