package layout

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlruns-go/mlruns/entities"
)

// Searching spends much of its CPU time decoding run meta.yaml files, and
// nearly all of them are in the one flat shape MLflow writes (key: scalar
// per line), which decodeRunMetaFast reads without the YAML decoder.
// Anything else - quoting it does not handle, folded lines, unknown keys,
// values a YAML resolver could read as numbers, booleans or null - it
// leaves to the decoder, and what it accepts it decodes exactly as the
// decoder does (FuzzDecodeRunMetaFast).

// decodeRunMetaFast decodes the canonical run meta shape; ok is false when
// the file needs the full YAML decoder.
func decodeRunMetaFast(data []byte) (info entities.RunInfo, ok bool) {
	if !yamlPrintable(data) {
		return info, false
	}
	var runID, runUUID, expID, stage *string
	status := int64(entities.StatusRunning)
	var seen [16]string // the keys so far: a repeated key is the decoder's to refuse
	nseen := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		k, v, found := bytes.Cut(line, []byte(": "))
		if !found || len(k) == 0 || !plainKey(k) || nseen == len(seen) {
			return info, false
		}
		for _, s := range seen[:nseen] {
			if s == string(k) {
				return info, false
			}
		}
		seen[nseen] = string(k)
		nseen++
		switch string(k) {
		case "artifact_uri", "run_name", "user_id", "run_id", "run_uuid", "experiment_id", "lifecycle_stage",
			"entry_point_name", "source_name", "source_version":
			s, ok := yamlString(v)
			if !ok {
				return info, false
			}
			switch string(k) {
			case "artifact_uri":
				info.ArtifactURI = s
			case "run_name":
				info.RunName = s
			case "user_id":
				info.UserID = s
			case "run_id":
				runID = &s
			case "run_uuid":
				runUUID = &s
			case "experiment_id":
				expID = &s
			case "lifecycle_stage":
				stage = &s
			}
		case "start_time", "status", "source_type":
			n, err := plainInt(v)
			if err != nil {
				return info, false
			}
			switch string(k) {
			case "start_time":
				info.StartTime = n
			case "status":
				status = n
			}
		case "end_time", "deleted_time":
			var p *int64
			if string(v) != "null" {
				n, err := plainInt(v)
				if err != nil {
					return info, false
				}
				p = &n
			}
			if string(k) == "end_time" {
				info.EndTime = p
			} else {
				info.DeletedTime = p
			}
		case "tags":
			if string(v) != "[]" {
				return info, false
			}
		default:
			return info, false
		}
	}
	switch {
	case runID != nil && *runID != "":
		info.RunID = *runID
	case runUUID != nil:
		info.RunID = *runUUID
	default:
		return info, false
	}
	if expID == nil {
		return info, false
	}
	info.ExperimentID = *expID
	info.Status = entities.RunStatus(status)
	if !info.Status.Valid() {
		return info, false
	}
	info.LifecycleStage = entities.StageActive
	if stage != nil {
		st, err := entities.ParseLifecycleStage(*stage)
		if err != nil {
			return info, false
		}
		info.LifecycleStage = st
	}
	return info, true
}

// yamlNumberLike matches plain scalars a YAML 1.1 or 1.2 resolver may read
// as a number, a date or a special float (generously: a false positive only
// costs the full decoder).
var yamlNumberLike = regexp.MustCompile(`^[-+]?([0-9._:-]*|0[bBoOxX][0-9a-fA-F_]*|[0-9._]*[eE][-+]?[0-9]+|\.(inf|Inf|INF|nan|NaN|NAN))$`)

func plainKey(k []byte) bool {
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// yamlString reads a one-line scalar that YAML can only read as this
// string: a single-quoted scalar without line breaks, or a plain scalar of
// safe characters that no resolver reads as a number, boolean or null.
func yamlString(v []byte) (string, bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		body := string(v[1 : len(v)-1])
		if strings.ContainsAny(body, "\r\t") || strings.HasSuffix(body, " ") || strings.HasPrefix(body, " ") {
			return "", false
		}
		// '' is the only escape; a lone quote means something else.
		if strings.Count(body, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
			return "", false
		}
		return strings.ReplaceAll(body, "''", "'"), true
	}
	if len(v) == 0 {
		return "", false
	}
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '/':
		case c == '-' || c == ':' || c == '%' || c == '@' || c == '+' || c == '=':
			if i == 0 {
				return "", false // indicators, reserved ('@') or resolved ('+1', '=') at the start
			}
		case c == ' ' && i > 0 && i < len(v)-1 && v[i+1] != ' ' && v[i+1] != '#' && v[i-1] != ':':
		default:
			return "", false
		}
	}
	if yamlNumberLike.Match(v) {
		return "", false
	}
	switch strings.ToLower(string(v)) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return "", false
	}
	if bytes.HasSuffix(v, []byte{':'}) {
		return "", false
	}
	return string(v), true
}

// yamlPrintable reports whether data is valid UTF-8 of characters YAML
// allows in a stream (line feeds and its printable set; tabs, carriage
// returns, NEL and the BOM are left to the decoder).
func yamlPrintable(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c != '\n' && (c < 0x20 || c == 0x7f) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 || r < 0xa0 || r >= 0xd800 && r < 0xe000 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
		i += n
	}
	return true
}

// plainInt reads a decimal integer in the one form every YAML resolver
// reads the same way: -?(0|[1-9][0-9]*) (010 is octal to YAML 1.1, +1 and
// 1_000 are its too).
func plainInt(v []byte) (int64, error) {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 1 && d[0] == '0' {
		return 0, strconv.ErrSyntax
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(string(v), 10, 64)
}
