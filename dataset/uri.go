package dataset

import (
	"net/netip"
	"regexp"
	"strings"
)

// parsedURL is the part of Python's urllib.parse.urlparse (Python 3.11)
// that MLflow's source resolution looks at: the scheme and the host.
type parsedURL struct {
	scheme string // lower case, "" for a plain path
	netloc string
}

// urlParse is urllib.parse.urlsplit's scheme and netloc split. ok is false
// where Python raises ValueError (an unbalanced or invalid bracketed host),
// which MLflow's resolvers take as "cannot resolve".
//
// One check of Python's is not made: for a non-ASCII netloc, urlsplit
// refuses one whose NFKC normal form holds '/', '?', '#', '@' or ':' (a
// character such as U+2100 "a/c"); without Unicode normalisation tables we
// accept such a netloc.
func urlParse(url string) (p parsedURL, ok bool) {
	url = strings.TrimLeft(url, c0ControlOrSpace)
	url = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(url)
	if i := strings.IndexByte(url, ':'); i > 0 && isASCIIAlpha(url[0]) && strings.Trim(url[:i], schemeChars) == "" {
		p.scheme, url = strings.ToLower(url[:i]), url[i+1:]
	}
	if !strings.HasPrefix(url, "//") {
		return p, true
	}
	rest := url[2:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	p.netloc = rest
	open, closed := strings.Contains(rest, "["), strings.Contains(rest, "]")
	if open != closed {
		return p, false // "Invalid IPv6 URL"
	}
	if open {
		_, after, _ := strings.Cut(rest, "[")
		host, _, _ := strings.Cut(after, "]")
		if !bracketedHostOK(host) {
			return p, false
		}
	}
	return p, true
}

// c0ControlOrSpace is urllib's _WHATWG_C0_CONTROL_OR_SPACE: U+0000 to U+0020.
const c0ControlOrSpace = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "

// schemeChars is urllib's scheme_chars.
const schemeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."

func isASCIIAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

var ipvFuture = regexp.MustCompile(`\Av[a-fA-F0-9]+\.(?s:.+)\z`)

// bracketedHostOK is urllib's _check_bracketed_host: an IPvFuture literal
// or an IPv6 address (ipaddress.ip_address, which allows a %scope).
func bracketedHostOK(host string) bool {
	if strings.HasPrefix(host, "v") {
		return ipvFuture.MatchString(host)
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is6()
}

// hostname is SplitResult.hostname: the host of the netloc without user
// info and port, lower-cased ("" for Python's None).
func (p parsedURL) hostname() string {
	info := p.netloc
	if i := strings.LastIndexByte(info, '@'); i >= 0 {
		info = info[i+1:]
	}
	var host string
	if _, after, found := strings.Cut(info, "["); found {
		host, _, _ = strings.Cut(after, "]")
	} else {
		host, _, _ = strings.Cut(info, ":")
	}
	// Python lower-cases the part before a '%' zone only.
	h, zone, found := strings.Cut(host, "%")
	if found {
		return pyLower(h) + "%" + zone
	}
	return pyLower(h)
}

// pyLower is str.lower for the comparisons made on host names: they are
// only compared with ASCII prefixes, so Unicode case rules beyond ASCII do
// not change a result.
func pyLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
