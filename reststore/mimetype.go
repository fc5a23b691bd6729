package reststore

import "strings"

// contentType is the Content-Type Python MLflow sends with an artifact
// upload (mlflow.utils.mime_type_utils._guess_mime_type): text/plain for
// MLflow's text extensions (and the MLmodel and mlproject files), else
// mimetypes.guess_type of the file name, else application/octet-stream.
//
// The table is Python 3.11's built-in one (mimetypes' _types_map_default,
// strict); Python also merges the system's mime.types files into it, which
// differ per machine and are not read here.
func contentType(name string) string {
	name = name[strings.LastIndexByte(name, '/')+1:] // pathlib's name
	ext := pySplitExt(name)
	ext = strings.ReplaceAll(ext, ".", "")
	if ext == "" {
		ext = name
	}
	if textExtensions[ext] {
		return "text/plain"
	}
	if t := guessType(name); t != "" {
		return t
	}
	return "application/octet-stream"
}

// textExtensions is mime_type_utils.get_text_extensions (case-sensitive).
var textExtensions = map[string]bool{
	"txt": true, "log": true, "err": true, "cfg": true, "conf": true, "cnf": true, "cf": true,
	"ini": true, "properties": true, "prop": true, "hocon": true, "toml": true, "yaml": true,
	"yml": true, "xml": true, "json": true, "js": true, "py": true, "py3": true, "csv": true,
	"tsv": true, "md": true, "rst": true, "ipynb": true, "MLmodel": true, "mlproject": true,
}

// pySplitExt is posixpath.splitext's extension: from the last dot of the
// last element, unless that element is all leading dots before it.
func pySplitExt(p string) string {
	base := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || strings.Trim(base[:dot], ".") == "" {
		return ""
	}
	return base[dot:]
}

// guessType is mimetypes.MimeTypes().guess_type(name)[0] with the default
// tables ("" for None).
func guessType(name string) string {
	// urllib.parse._splittype: a "scheme:" prefix without '/' is cut off.
	if i := strings.IndexByte(name, ':'); i > 0 && !strings.ContainsAny(name[:i], "/") {
		scheme, rest := strings.ToLower(name[:i]), name[i+1:]
		if scheme == "data" {
			comma := strings.IndexByte(rest, ',')
			if comma < 0 {
				return ""
			}
			typ := rest[:comma]
			if semi := strings.IndexByte(typ, ';'); semi >= 0 {
				typ = typ[:semi]
			}
			if strings.Contains(typ, "=") || !strings.Contains(typ, "/") {
				typ = "text/plain"
			}
			return typ
		}
		name = rest
	}
	base, ext := name[:len(name)-len(pySplitExt(name))], pySplitExt(name)
	for {
		s, ok := suffixMap[strings.ToLower(ext)]
		if !ok {
			break
		}
		name = base + s
		base, ext = name[:len(name)-len(pySplitExt(name))], pySplitExt(name)
	}
	if encodings[ext] {
		ext = pySplitExt(base)
	}
	return typesMap[strings.ToLower(ext)]
}

// suffixMap is mimetypes' _suffix_map_default.
var suffixMap = map[string]string{
	".svgz": ".svg.gz", ".tgz": ".tar.gz", ".taz": ".tar.gz", ".tz": ".tar.gz",
	".tbz2": ".tar.bz2", ".txz": ".tar.xz",
}

// encodings are the keys of mimetypes' _encodings_map_default
// (case-sensitive).
var encodings = map[string]bool{".gz": true, ".Z": true, ".bz2": true, ".xz": true, ".br": true}

// typesMap is Python 3.11's mimetypes._types_map_default (strict types).
var typesMap = map[string]string{
	".3g2":         "audio/3gpp2",
	".3gp":         "audio/3gpp",
	".3gpp":        "audio/3gpp",
	".3gpp2":       "audio/3gpp2",
	".a":           "application/octet-stream",
	".aac":         "audio/aac",
	".adts":        "audio/aac",
	".ai":          "application/postscript",
	".aif":         "audio/x-aiff",
	".aifc":        "audio/x-aiff",
	".aiff":        "audio/x-aiff",
	".ass":         "audio/aac",
	".au":          "audio/basic",
	".avi":         "video/x-msvideo",
	".avif":        "image/avif",
	".bat":         "text/plain",
	".bcpio":       "application/x-bcpio",
	".bin":         "application/octet-stream",
	".bmp":         "image/bmp",
	".c":           "text/plain",
	".cdf":         "application/x-netcdf",
	".cpio":        "application/x-cpio",
	".csh":         "application/x-csh",
	".css":         "text/css",
	".csv":         "text/csv",
	".dll":         "application/octet-stream",
	".doc":         "application/msword",
	".dot":         "application/msword",
	".dvi":         "application/x-dvi",
	".eml":         "message/rfc822",
	".eps":         "application/postscript",
	".etx":         "text/x-setext",
	".exe":         "application/octet-stream",
	".gif":         "image/gif",
	".gtar":        "application/x-gtar",
	".h":           "text/plain",
	".h5":          "application/x-hdf5",
	".hdf":         "application/x-hdf",
	".heic":        "image/heic",
	".heif":        "image/heif",
	".htm":         "text/html",
	".html":        "text/html",
	".ico":         "image/vnd.microsoft.icon",
	".ief":         "image/ief",
	".jpe":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".jpg":         "image/jpeg",
	".js":          "application/javascript",
	".json":        "application/json",
	".ksh":         "text/plain",
	".latex":       "application/x-latex",
	".loas":        "audio/aac",
	".m1v":         "video/mpeg",
	".m3u":         "application/vnd.apple.mpegurl",
	".m3u8":        "application/vnd.apple.mpegurl",
	".man":         "application/x-troff-man",
	".me":          "application/x-troff-me",
	".mht":         "message/rfc822",
	".mhtml":       "message/rfc822",
	".mif":         "application/x-mif",
	".mjs":         "application/javascript",
	".mov":         "video/quicktime",
	".movie":       "video/x-sgi-movie",
	".mp2":         "audio/mpeg",
	".mp3":         "audio/mpeg",
	".mp4":         "video/mp4",
	".mpa":         "video/mpeg",
	".mpe":         "video/mpeg",
	".mpeg":        "video/mpeg",
	".mpg":         "video/mpeg",
	".ms":          "application/x-troff-ms",
	".n3":          "text/n3",
	".nc":          "application/x-netcdf",
	".nq":          "application/n-quads",
	".nt":          "application/n-triples",
	".nws":         "message/rfc822",
	".o":           "application/octet-stream",
	".obj":         "application/octet-stream",
	".oda":         "application/oda",
	".opus":        "audio/opus",
	".p12":         "application/x-pkcs12",
	".p7c":         "application/pkcs7-mime",
	".pbm":         "image/x-portable-bitmap",
	".pdf":         "application/pdf",
	".pfx":         "application/x-pkcs12",
	".pgm":         "image/x-portable-graymap",
	".pl":          "text/plain",
	".png":         "image/png",
	".pnm":         "image/x-portable-anymap",
	".pot":         "application/vnd.ms-powerpoint",
	".ppa":         "application/vnd.ms-powerpoint",
	".ppm":         "image/x-portable-pixmap",
	".pps":         "application/vnd.ms-powerpoint",
	".ppt":         "application/vnd.ms-powerpoint",
	".ps":          "application/postscript",
	".pwz":         "application/vnd.ms-powerpoint",
	".py":          "text/x-python",
	".pyc":         "application/x-python-code",
	".pyo":         "application/x-python-code",
	".qt":          "video/quicktime",
	".ra":          "audio/x-pn-realaudio",
	".ram":         "application/x-pn-realaudio",
	".ras":         "image/x-cmu-raster",
	".rdf":         "application/xml",
	".rgb":         "image/x-rgb",
	".roff":        "application/x-troff",
	".rtx":         "text/richtext",
	".sgm":         "text/x-sgml",
	".sgml":        "text/x-sgml",
	".sh":          "application/x-sh",
	".shar":        "application/x-shar",
	".snd":         "audio/basic",
	".so":          "application/octet-stream",
	".src":         "application/x-wais-source",
	".srt":         "text/plain",
	".sv4cpio":     "application/x-sv4cpio",
	".sv4crc":      "application/x-sv4crc",
	".svg":         "image/svg+xml",
	".swf":         "application/x-shockwave-flash",
	".t":           "application/x-troff",
	".tar":         "application/x-tar",
	".tcl":         "application/x-tcl",
	".tex":         "application/x-tex",
	".texi":        "application/x-texinfo",
	".texinfo":     "application/x-texinfo",
	".tif":         "image/tiff",
	".tiff":        "image/tiff",
	".tr":          "application/x-troff",
	".trig":        "application/trig",
	".tsv":         "text/tab-separated-values",
	".txt":         "text/plain",
	".ustar":       "application/x-ustar",
	".vcf":         "text/x-vcard",
	".vtt":         "text/vtt",
	".wasm":        "application/wasm",
	".wav":         "audio/x-wav",
	".webm":        "video/webm",
	".webmanifest": "application/manifest+json",
	".wiz":         "application/msword",
	".wsdl":        "application/xml",
	".xbm":         "image/x-xbitmap",
	".xlb":         "application/vnd.ms-excel",
	".xls":         "application/vnd.ms-excel",
	".xml":         "text/xml",
	".xpdl":        "application/xml",
	".xpm":         "image/x-xpixmap",
	".xsl":         "application/xml",
	".xwd":         "image/x-xwindowdump",
	".zip":         "application/zip",
}
