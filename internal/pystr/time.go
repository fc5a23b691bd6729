package pystr

import (
	"strconv"
	"time"
)

// appendDatetimeStr is str() of t's datetime twin: isoformat(" "), with
// microseconds when there are any and the UTC offset, seconds included
// when the offset has them.
func appendDatetimeStr(dst []byte, t time.Time) []byte {
	dst = appendPadded(dst, t.Year(), 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int(t.Month()), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, t.Day(), 2)
	dst = append(dst, ' ')
	dst = appendClock(dst, t.Hour(), 2, t.Minute(), t.Second(), t.Nanosecond()/1000)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = appendPadded(dst, off/3600, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, off/60%60, 2)
	if off%60 != 0 {
		dst = append(dst, ':')
		dst = appendPadded(dst, off%60, 2)
	}
	return dst
}

// appendDatetimeRepr is repr() of t's datetime twin: trailing zero seconds
// and microseconds are left out, as datetime's repr does.
func appendDatetimeRepr(dst []byte, t time.Time) []byte {
	dst = append(dst, "datetime.datetime("...)
	fields := []int{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond() / 1000}
	n := 7
	if fields[6] == 0 {
		n = 6
		if fields[5] == 0 {
			n = 5
		}
	}
	for i, f := range fields[:n] {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = strconv.AppendInt(dst, int64(f), 10)
	}
	dst = append(dst, ", tzinfo="...)
	_, off := t.Zone()
	if off == 0 { // timezone(timedelta(0)) is timezone.utc
		dst = append(dst, "datetime.timezone.utc"...)
	} else {
		dst = append(dst, "datetime.timezone("...)
		dst = appendTimedeltaRepr(dst, time.Duration(off)*time.Second)
		dst = append(dst, ')')
	}
	return append(dst, ')')
}

// timedeltaParts is d as a timedelta normalises it: days (negative for a
// negative d), 0 <= seconds < 86400, 0 <= microseconds < 10^6. d is
// truncated toward zero to microseconds.
func timedeltaParts(d time.Duration) (days, seconds, micros int64) {
	us := int64(d / time.Microsecond)
	const perDay = 86400 * 1_000_000
	days = us / perDay
	rem := us % perDay
	if rem < 0 {
		days--
		rem += perDay
	}
	return days, rem / 1_000_000, rem % 1_000_000
}

// appendTimedeltaStr is str() of d's timedelta twin: [D day[s], ]H:MM:SS[.ffffff].
func appendTimedeltaStr(dst []byte, d time.Duration) []byte {
	days, secs, us := timedeltaParts(d)
	if days != 0 {
		dst = strconv.AppendInt(dst, days, 10)
		dst = append(dst, " day"...)
		if days != 1 && days != -1 {
			dst = append(dst, 's')
		}
		dst = append(dst, ", "...)
	}
	return appendClock(dst, int(secs/3600), 1, int(secs/60%60), int(secs%60), int(us))
}

// appendTimedeltaRepr is repr() of d's timedelta twin: the non-zero fields
// by keyword, datetime.timedelta(0) when all are zero.
func appendTimedeltaRepr(dst []byte, d time.Duration) []byte {
	days, secs, us := timedeltaParts(d)
	dst = append(dst, "datetime.timedelta("...)
	if days == 0 && secs == 0 && us == 0 {
		return append(dst, "0)"...)
	}
	sep := ""
	for _, f := range []struct {
		name string
		v    int64
	}{{"days=", days}, {"seconds=", secs}, {"microseconds=", us}} {
		if f.v != 0 {
			dst = append(dst, sep...)
			dst = append(dst, f.name...)
			dst = strconv.AppendInt(dst, f.v, 10)
			sep = ", "
		}
	}
	return append(dst, ')')
}

// appendClock is H:MM:SS[.ffffff], the hour padded to hourWidth digits.
func appendClock(dst []byte, h, hourWidth, m, s, us int) []byte {
	dst = appendPadded(dst, h, hourWidth)
	dst = append(dst, ':')
	dst = appendPadded(dst, m, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, s, 2)
	if us != 0 {
		dst = append(dst, '.')
		dst = appendPadded(dst, us, 6)
	}
	return dst
}

// appendPadded is %0*d.
func appendPadded(dst []byte, v, width int) []byte {
	if v < 0 {
		dst, v = append(dst, '-'), -v
	}
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}
