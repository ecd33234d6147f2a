package pdf

import (
	"reflect"
	"strings"
	"testing"
)

// cells measures as a terminal does: a CJK character takes two cells, anything else one.
func cells(s string) float64 {
	n := 0.0
	for _, r := range s {
		if isWide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width float64
		want  []string
	}{
		{"", 10, []string{""}},
		{"hello world foo", 11, []string{"hello world", "foo"}},
		{"hello   world", 7, []string{"hello", "world"}},
		{"  ab cd", 5, []string{"  ab", "cd"}},
		{"一二三四五六", 6, []string{"一二三", "四五六"}},
		{"PLC程序调试", 8, []string{"PLC程序", "调试"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"xy abcdefghij", 4, []string{"xy", "abcd", "efgh", "ij"}},
		{"a\nb", 10, []string{"a", "b"}},
		{"a\n\nb", 10, []string{"a", "", "b"}},
		// Closing punctuation does not start a line: the character before goes down with it.
		{"一二三，四", 6, []string{"一二", "三，四"}},
		{"done. 一二。", 9, []string{"done. 一", "二。"}},
		// Opening punctuation does not end a line: it goes down with what it opens.
		{"一二（三）", 6, []string{"一二", "（三）"}},
		{"see (appendix)", 6, []string{"see", "(appen", "dix)"}},
	} {
		if got := wrap(tc.in, tc.width, cells); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wrap(%q, %v) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// However text is wrapped, no line is wider than allowed (a lone character aside), and the
// lines put back together give the text less the blanks at the breaks.
func TestWrapKeepsEverythingWithinWidth(t *testing.T) {
	texts := []string{
		"宝武钢铁湛江钢铁有限公司 热轧产线传动系统改造。这是一段很长的文字，用于测试自动换行（含括号）是否正常工作。",
		"Long English text with a verylongunbreakableidentifier_0123456789 and short words, to wrap nicely.",
		"混合 mixed 文本：S7-1500 与 SINAMICS 通讯联调，“引号”和《书名号》……结束。",
	}
	for _, s := range texts {
		for width := 4.0; width <= 40; width++ {
			lines := wrap(s, width, cells)
			for _, l := range lines {
				if cells(l) > width && len([]rune(l)) > 1 && !hangs(l, width) {
					t.Errorf("wrap(%q, %v): line %q is %v wide", s, width, l, cells(l))
				}
			}
			if got, want := strings.ReplaceAll(strings.Join(lines, ""), " ", ""), strings.ReplaceAll(s, " ", ""); got != want {
				t.Errorf("wrap(%q, %v) lost text: %q", s, width, lines)
			}
		}
	}
}

// hangs tells whether a line is too wide only because closing punctuation hangs past the edge
// or an opening one was carried down, which wrap allows when it cannot do better.
func hangs(l string, width float64) bool {
	r := []rune(l)
	return cells(string(r[:len(r)-1])) <= width || cells(string(r[1:])) <= width
}

func TestTokenize(t *testing.T) {
	got := tokenize("PLC 程序  v2.0，OK")
	want := []string{"PLC", " ", "程", "序", "  ", "v2.0", "，", "OK"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tokenize = %q, want %q", got, want)
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in      string
		oneLine bool
		want    string
	}{
		{"a\r\nb\rc\n", false, "a\nb\nc"},
		{"a\r\nb\n\n c", true, "a b c"},
		{"tab\there\u00a0nbsp", false, "tab here nbsp"},
		{"zero\u200bwidth\ufeff\u202ebidi\x00\x07", false, "zerowidthbidi"},
		{"  padded  ", true, "padded"},
		{"\xff bad utf-8", true, "bad utf-8"},
		{"全角\u3000空格", false, "全角\u3000空格"},
	} {
		if got := clean(tc.in, tc.oneLine); got != tc.want {
			t.Errorf("clean(%q, %v) = %q, want %q", tc.in, tc.oneLine, got, tc.want)
		}
	}
}
