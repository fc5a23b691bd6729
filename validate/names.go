package validate

import (
	"runtime"
	"strings"
	"unicode"

	"github.com/mlruns-go/mlruns/errs"
)

// MaxKeyLength is MAX_ENTITY_KEY_LENGTH: metric names, param keys and run
// tag keys in log_batch, in code points.
const MaxKeyLength = 250

// Reasons of the key-name rules, as validation.py words them.
const (
	badCharsPOSIX = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.)," +
		" spaces ( ), colon(:) and slashes (/)."
	badCharsWindows = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.)," +
		" spaces ( ) and slashes (/)."
	badPathPrefix = "Names may be treated as files in certain cases, and must not resolve to other names" +
		" when treated as such. This name would resolve to "
)

// IsWordRune reports whether Python 3.11's re module counts r as \w in a str
// pattern: '_' or str.isalnum(), i.e. isalpha (categories L*) or
// isdecimal/isdigit/isnumeric. Every N* code point has a numeric value and
// every other code point with one is a letter (CJK ideographs), so L* and N*
// cover it. Combining marks (Mn, Mc) are not word runes.
//
// Go's tables are Unicode 15 and Python 3.11's are Unicode 14: the code
// points assigned in between are word runes here and not in Python (see the
// interop test).
func IsWordRune(r rune) bool {
	if r < 0x80 {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// onWindows selects MLflow's Windows key alphabet for the key checks, as
// MLflow's is_windows() does where the program runs (a platform fact, not
// the environment).
const onWindows = runtime.GOOS == "windows"

// keyRune is the class [/\w.\- :] (no ':' on Windows).
func keyRune(r rune, windows bool) bool {
	switch r {
	case '/', '.', '-', ' ':
		return true
	case ':':
		return !windows
	}
	return IsWordRune(r)
}

// MetricName checks a metric key the way _validate_metric_name does
// (field "name").
func MetricName(key string) error { return keyName("name", key, onWindows) }

// ParamName checks a param key the way _validate_param_name does (field
// "key").
func ParamName(key string) error { return keyName("key", key, onWindows) }

// TagName checks a run, experiment, trace or model tag key the way
// _validate_tag_name does (field "key"). It is all FileStore.set_tag checks:
// no key or value length.
func TagName(key string) error { return keyName("key", key, onWindows) }

// KeyName is the common rule of metric, param and tag names with a chosen
// field path. windows selects MLflow's Windows alphabet, which has no ':'.
func KeyName(field, key string, windows bool) error { return keyName(field, key, windows) }

func keyName(field, key string, windows bool) error {
	// MLflow uses re.fullmatch, so unlike re.match with "$" a trailing
	// newline is rejected too.
	for _, r := range key {
		// utf8.RuneError from invalid bytes is not a word rune, so
		// bytes Python could not even decode are rejected.
		if !keyRune(r, windows) {
			reason := badCharsPOSIX
			if windows {
				reason = badCharsWindows
			}
			return invalidString(errs.ErrInvalidParameter, field, key, reason)
		}
	}
	if pathNotUnique(key) {
		return invalidString(errs.ErrInvalidPath, field, key, badPathPrefix+pyRepr(normpath(key)))
	}
	return nil
}

// pathNotUnique is validation.py's path_not_unique: the name must survive
// posixpath.normpath unchanged and stay relative and inside its folder.
func pathNotUnique(name string) bool {
	if plainPath(name) {
		return false // normpath(name) == name; skips its allocations
	}
	n := normpath(name)
	return n != name || n == "." || strings.HasPrefix(n, "..") || strings.HasPrefix(n, "/")
}

// plainPath reports whether normpath leaves name unchanged and it is
// neither "." nor rooted nor starting with "..": a non-empty name without a leading or
// trailing "/", "//", and "." or ".." components.
func plainPath(name string) bool {
	if name == "" || strings.HasPrefix(name, "..") || name[0] == '/' || name[len(name)-1] == '/' || strings.Contains(name, "//") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '.' && (i == 0 || name[i-1] == '/') {
			// a component starting with '.': "." and ".." are not plain
			j := i + 1
			if j < len(name) && name[j] == '.' {
				j++
			}
			if j == len(name) || name[j] == '/' {
				return false
			}
		}
	}
	return true
}

// normpath is Python's posixpath.normpath (CPython 3.11, rule for rule). It
// differs from path.Clean in keeping a leading "//", and its result is part
// of the message.
func normpath(p string) string {
	if p == "" {
		return "."
	}
	initial := 0
	if strings.HasPrefix(p, "/") {
		initial = 1
		if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
			initial = 2
		}
	}
	var comps []string
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." {
			continue
		}
		if c != ".." || (initial == 0 && len(comps) == 0) || (len(comps) > 0 && comps[len(comps)-1] == "..") {
			comps = append(comps, c)
		} else if len(comps) > 0 {
			comps = comps[:len(comps)-1]
		}
	}
	out := strings.Repeat("/", initial) + strings.Join(comps, "/")
	if out == "" {
		return "."
	}
	return out
}
