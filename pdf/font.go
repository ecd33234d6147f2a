// Package pdf renders kamflow's printable documents as PDF files. For now that is the
// engineering acceptance certificate (工程验收证书) that closes a delivered deal: see
// Certificate and WriteCertificate.
//
// Text is set in WenQuanYi Micro Hei (文泉驿微米黑), a TrueType CJK font compiled into the
// binary (gzipped, about 2 MB; origin and Apache-2.0 licence in fonts/README.md), so nothing
// has to be installed to produce a certificate. Each PDF embeds only the glyphs it uses, as a
// font subset with a ToUnicode map, so Chinese shows on any reader without installed fonts and
// can be searched and copied. A character the font lacks (CJK Extension B, emoji) prints as □.
//
// The output is reproducible: the same Certificate always gives the same bytes. The document's
// creation date is the certificate's issue time, and no random file ID is written.
//
// The package imports nothing else of kamflow's; callers map their records onto Certificate.
package pdf

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
)

// fontGz is face 0 of Debian's wqy-microhei.ttc as a standalone TrueType font, gzipped; see
// fonts/README.md and fonts/extract.go.
//
//go:embed fonts/wqy-microhei.ttf.gz
var fontGz []byte

// fontFamily names the font inside the PDF: gopdf writes the family as the font's BaseFont and
// FontName. The six capitals and "+" are the tag PDF gives a font subset (ISO 32000-1 §9.6.4),
// so readers and tools such as pdffonts see the font as the subset it is. One fixed tag is
// enough: each document holds a single subset of it.
const fontFamily = "KAMFLW+WenQuanYiMicroHei"

var (
	fontOnce sync.Once
	fontTTF  []byte
	fontErr  error
)

// font returns the TrueType font, unzipped on first use (some tens of milliseconds) and then
// shared read-only by every document: gopdf parses it without writing to it.
func font() ([]byte, error) {
	fontOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(fontGz))
		if err != nil {
			fontErr = fmt.Errorf("pdf: embedded font: %w", err)
			return
		}
		fontTTF, err = io.ReadAll(zr)
		if err != nil {
			fontErr = fmt.Errorf("pdf: embedded font: %w", err)
			fontTTF = nil
		}
	})
	return fontTTF, fontErr
}
